/** How a search result's time and the result count read, in the user's language. Pure. */

/** Today: the time; this year: day, month and time; earlier: the date. */
export function hitTime(at: number, locale: string, now = Date.now()): string {
  const d = new Date(at);
  const n = new Date(now);
  const time: Intl.DateTimeFormatOptions = { hour: 'numeric', minute: '2-digit' };
  if (d.toDateString() === n.toDateString()) return d.toLocaleTimeString(locale, time);
  if (d.getFullYear() === n.getFullYear()) return d.toLocaleString(locale, { month: 'short', day: 'numeric', ...time });
  return d.toLocaleDateString(locale, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** The full date and time (a tooltip, and what a screen reader says). */
export function hitTimeFull(at: number, locale: string): string {
  return new Date(at).toLocaleString(locale, { dateStyle: 'full', timeStyle: 'short' });
}

export function formatCount(n: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** Today as `YYYY-MM-DD` in the browser's time zone (the upper bound of the date inputs). */
export function today(now = new Date()): string {
  const pad = (v: number) => String(v).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}
