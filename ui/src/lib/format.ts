// en-GB dates and times in Europe/London, summer time included.
const zone = 'Europe/London';
// Made once: a formatter holds native memory the engine frees only when it collects, and the day
// book and banner format on every render.
const longDateParts = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', { timeZone: zone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const hourFormat = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: 'numeric', hour12: false });
const isoParts = new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
const timeFormat = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat('en-GB', { timeZone: zone, day: '2-digit', month: '2-digit', year: 'numeric' });
const numberFormat = new Intl.NumberFormat('en-GB');

/** "Monday 30 November 2026", built from parts so every engine writes it the same way. */
export function longDate(d: Date): string {
  const parts = longDateParts.formatToParts(d);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('weekday')} ${part('day')} ${part('month')} ${part('year')}`;
}

export function dateTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}

export function greeting(d: Date): string {
  const hour = Number(hourFormat.format(d));
  return hour < 12 ? 'Good morning' : hour < 18 ? 'Good afternoon' : 'Good evening';
}

export function plural(n: number, one: string, many: string): string {
  return `${numberFormat.format(n)} ${n === 1 ? one : many}`;
}

export const roleNames: Record<string, string> = {
  reception: 'Reception',
  nurse: 'Nurse',
  vet: 'Vet',
  manager: 'Practice manager',
  admin: 'Admin',
};

/** Today's date in London, YYYY-MM-DD. */
export function todayIso(now: Date = new Date()): string {
  const parts = isoParts.formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** A calendar date `days` after `iso` (no time zone involved: dates are dates). */
export function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** "Monday 30 November 2026" for a YYYY-MM-DD date. */
export function dayLabel(iso: string): string {
  return longDate(new Date(`${iso}T12:00:00Z`));
}

/** "30/11/2026" for a YYYY-MM-DD date. */
export function shortDate(iso: string): string {
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}/${m}/${y}`;
}

/** "09:05" for minutes after midnight. */
export function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** Minutes after midnight of a local "YYYY-MM-DDTHH:MM:SS". */
export function minuteOf(local: string): number {
  return Number(local.slice(11, 13)) * 60 + Number(local.slice(14, 16));
}

/** "30/11/2026", "3/4/26" or "30.11.2026" to "2026-11-30"; `null` if it is not a real date. */
export function parseBritishDate(input: string): string | null {
  const m = input.trim().match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$/);
  if (!m) return null;
  const year = m[3].length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
  const iso = `${year}-${m[2].padStart(2, '0')}-${m[1].padStart(2, '0')}`;
  const d = new Date(`${iso}T12:00:00Z`);
  return !isNaN(d.getTime()) && d.toISOString().slice(0, 10) === iso ? iso : null;
}

/** A quantity held in thousandths ("1500") as people write it: "1.5". */
export function qty(milli: number): string {
  const whole = Math.trunc(milli / 1000);
  const fraction = Math.abs(milli % 1000);
  if (fraction === 0) return String(whole);
  return `${milli < 0 && whole === 0 ? '-' : ''}${whole}.${String(fraction).padStart(3, '0').replace(/0+$/, '')}`;
}

/** Pence as pounds: 4500 → "£45.00". */
export function money(pence: number): string {
  const sign = pence < 0 ? '-' : '';
  const p = Math.abs(pence);
  return `${sign}£${numberFormat.format(Math.floor(p / 100))}.${String(p % 100).padStart(2, '0')}`;
}

/** "09:30" in London for an instant. */
export function timeOf(iso: string): string {
  return timeFormat.format(new Date(iso));
}

/** "30/11/2026" in London for an instant. */
export function dateOf(iso: string): string {
  return dateFormat.format(new Date(iso));
}

/** An animal's age from its date of birth (YYYY-MM-DD) on `today`: "4 years", "7 months", "3 weeks". */
export function age(dob: string, today: string = todayIso()): string {
  const [y1, m1, d1] = dob.split('-').map(Number);
  const [y2, m2, d2] = today.split('-').map(Number);
  let months = (y2 - y1) * 12 + (m2 - m1) - (d2 < d1 ? 1 : 0);
  if (months >= 24) return `${Math.floor(months / 12)} years`;
  if (months >= 1) return plural(months, 'month', 'months');
  const days = Math.round((Date.parse(`${today}T12:00:00Z`) - Date.parse(`${dob}T12:00:00Z`)) / 86400000);
  return days >= 14 ? `${Math.floor(days / 7)} weeks` : plural(Math.max(days, 0), 'day', 'days');
}

/** How long ago, in words: "just now", "4 min ago", "2 h ago", or the date and time after a day. */
export function ago(iso: string, now: Date = new Date()): string {
  const seconds = Math.round((now.getTime() - new Date(iso).getTime()) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return dateTime(iso);
}
