import { describe, expect, it } from 'vitest';
import { ago, parseBritishDate, addDays, dateTime, greeting, hhmm, longDate, minuteOf, plural, todayIso } from './format';

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

describe('day book arithmetic', () => {
  it('steps over the clock change by whole days', () => {
    expect(addDays('2026-03-28', 1)).toBe('2026-03-29');
    expect(addDays('2026-03-29', 1)).toBe('2026-03-30');
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
  });
  it('knows the London date just after midnight in summer', () => {
    expect(todayIso(new Date('2026-06-30T23:30:00Z'))).toBe('2026-07-01');
  });
  it('reads and writes clock times', () => {
    expect(minuteOf('2026-03-30T09:05:00')).toBe(545);
    expect(hhmm(545)).toBe('09:05');
  });
});

describe('British dates typed by hand', () => {
  it.each([
    ['30/11/2026', '2026-11-30'],
    ['3/4/26', '2026-04-03'],
    ['30.11.2026', '2026-11-30'],
    ['29/02/2028', '2028-02-29'],
    ['29/02/2027', null],
    ['31/04/2026', null],
    ['11/30/2026', null],
    ['tomorrow', null],
  ])('%s', (typed, iso) => {
    expect(parseBritishDate(typed)).toBe(iso);
  });
});

describe('clinical formats', () => {
  it('writes quantities, money and ages as people do', async () => {
    const { qty, money, age } = await import('./format');
    expect([qty(28000), qty(1500), qty(250), qty(10125), qty(-500)]).toEqual(['28', '1.5', '0.25', '10.125', '-0.5']);
    expect([money(4500), money(456), money(7), money(123456)]).toEqual(['£45.00', '£4.56', '£0.07', '£1,234.56']);
    expect(age('2022-11-30', '2026-11-30')).toBe('4 years');
    expect(age('2026-04-15', '2026-11-30')).toBe('7 months');
    expect(age('2026-11-09', '2026-11-30')).toBe('3 weeks');
  });
});

describe('ago', () => {
  const now = new Date('2026-03-29T10:00:00Z');
  it('says how long ago in words', () => {
    expect(ago('2026-03-29T09:59:40Z', now)).toBe('just now');
    expect(ago('2026-03-29T09:56:00Z', now)).toBe('4 min ago');
    expect(ago('2026-03-29T08:00:00Z', now)).toBe('2 h ago');
    expect(ago('2026-03-27T08:00:00Z', now)).toBe('27 Mar 2026, 08:00');
  });
});
