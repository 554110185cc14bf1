import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isIdle, watchIdle } from './idle';

describe('isIdle', () => {
  it('is idle from exactly the number of minutes on', () => {
    expect(isIdle(0, 5 * 60_000 - 1, 5)).toBe(false);
    expect(isIdle(0, 5 * 60_000, 5)).toBe(true);
  });
});

describe('watchIdle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('calls once after the idle time, and again only after the window was used and left again', () => {
    const target = new EventTarget();
    const onidle = vi.fn();
    const stop = watchIdle(target as unknown as Window, () => 5, onidle, () => Date.now(), 1_000);
    vi.advanceTimersByTime(4 * 60_000);
    target.dispatchEvent(new Event('keydown'));
    vi.advanceTimersByTime(4 * 60_000);
    expect(onidle).not.toHaveBeenCalled(); // a key pressed a minute before would have locked it
    vi.advanceTimersByTime(60_000);
    expect(onidle).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * 60_000);
    expect(onidle).toHaveBeenCalledTimes(1);
    target.dispatchEvent(new Event('pointermove'));
    vi.advanceTimersByTime(5 * 60_000);
    expect(onidle).toHaveBeenCalledTimes(2);
    stop();
    target.dispatchEvent(new Event('keydown'));
    vi.advanceTimersByTime(60 * 60_000);
    expect(onidle).toHaveBeenCalledTimes(2);
  });
});

describe('watchIdle after a sleep', () => {
  it('locks on the first touch when the idle time passed while no check ran', () => {
    let now = 0;
    const target = new EventTarget();
    const onidle = vi.fn();
    vi.useFakeTimers();
    const stop = watchIdle(target as unknown as Window, () => 5, onidle, () => now, 1_000);
    now = 6 * 60_000; // the PC slept: the clock moved, no check ran
    target.dispatchEvent(new Event('pointermove'));
    expect(onidle).toHaveBeenCalledTimes(1);
    stop();
    vi.useRealTimers();
  });
});
