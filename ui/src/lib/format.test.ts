import { describe, expect, it } from 'vitest';
import { dateTime, greeting, longDate, plural } from './format';

describe('en-GB formats in Europe/London', () => {
  it('shows summer time after the clocks go forward', () => {
    // 08:00 UTC on 30 March 2026 is 09:00 BST.
    expect(dateTime('2026-03-30T08:00:00Z')).toContain('09:00');
    // 09:00 UTC on 2 November 2026 is 09:00 GMT.
    expect(dateTime('2026-11-02T09:00:00Z')).toContain('09:00');
  });
  it('writes dates the British way', () => {
    expect(longDate(new Date('2026-11-30T12:00:00Z'))).toBe('Monday 30 November 2026');
  });
  it('greets by London time', () => {
    expect(greeting(new Date('2026-07-01T10:30:00Z'))).toBe('Good morning'); // 11:30 BST
    expect(greeting(new Date('2026-07-01T11:30:00Z'))).toBe('Good afternoon'); // 12:30 BST
  });
  it('counts in words', () => {
    expect(plural(1, 'change', 'changes')).toBe('1 change');
    expect(plural(1200, 'change', 'changes')).toBe('1,200 changes');
  });
});
