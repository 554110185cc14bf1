/**
 * Puts the cursor in `node` when it appears, but only if the person is not already typing somewhere
 * else. The HTML `autofocus` attribute is not used anywhere: WebKit applies it late (after the
 * page's first layout), and would move the cursor out of a field that someone has already started to
 * type in, sending their next keystrokes into the wrong field.
 */
export function focusFirst(node: HTMLElement, enabled: boolean = true) {
  if (!enabled) return;
  const active = document.activeElement;
  const typingElsewhere = active instanceof HTMLElement && active !== document.body && active !== node && ['INPUT', 'TEXTAREA', 'SELECT'].includes(active.tagName) && !node.contains(active);
  if (!typingElsewhere) node.focus();
}
