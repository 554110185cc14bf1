// Watches for a person using the window (keys, pointer, wheel, touch) and calls `onidle` once the
// window has sat untouched for `minutes`. Checked every few seconds rather than by one long timer,
// so a PC that slept does not miss it.

export const ACTIVITY_EVENTS = ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart'] as const;

/** Whether `now` is at least `minutes` after `lastActivity` (both in milliseconds). */
export function isIdle(lastActivity: number, now: number, minutes: number): boolean {
  return now - lastActivity >= minutes * 60_000;
}

/** Starts watching `target`; returns the function that stops it. */
export function watchIdle(
  target: Pick<Window, 'addEventListener' | 'removeEventListener'>,
  minutes: () => number,
  onidle: () => void,
  clock: () => number = Date.now,
  checkEveryMs = 5_000,
): () => void {
  let last = clock();
  let fired = false;
  const touched = () => {
    const now = clock();
    // Left untouched for the idle time while the checks were not running (the PC slept, the window
    // was hidden): the first touch locks rather than counting as use.
    if (!fired && isIdle(last, now, minutes())) {
      fired = true;
      onidle();
      return;
    }
    last = now;
    fired = false;
  };
  for (const name of ACTIVITY_EVENTS) target.addEventListener(name, touched, { passive: true });
  const timer = setInterval(() => {
    if (!fired && isIdle(last, clock(), minutes())) {
      fired = true;
      onidle();
    }
  }, checkEveryMs);
  return () => {
    clearInterval(timer);
    for (const name of ACTIVITY_EVENTS) target.removeEventListener(name, touched);
  };
}
