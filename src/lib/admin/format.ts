/** How the dashboard writes times, sizes and durations, in the reader's language. Pure. */
export { formatSize } from '$lib/files/format.ts';

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** "3 minutes ago", "어제"; under a minute: "now". */
export function relativeTime(at: number, locale: string, now = Date.now()): string {
  const diff = at - now;
  const fmt = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms) return fmt.format(Math.round(diff / ms), unit);
  }
  return fmt.format(0, 'second');
}

/** Date and time, short (a table cell, a tooltip). */
export function dateTime(at: number, locale: string): string {
  return new Date(at).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** An uptime: "3d 4h", "2h 5m", "45s" (units from Intl where it has them). */
export function duration(sec: number, locale: string): string {
  const parts: [number, 'day' | 'hour' | 'minute' | 'second'][] = [
    [Math.floor(sec / 86_400), 'day'],
    [Math.floor((sec % 86_400) / 3600), 'hour'],
    [Math.floor((sec % 3600) / 60), 'minute'],
    [Math.floor(sec % 60), 'second'],
  ];
  const shown = parts.filter(([n]) => n > 0).slice(0, 2);
  if (shown.length === 0) shown.push([0, 'second']);
  return shown.map(([n, unit]) => new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'narrow' }).format(n)).join(' ');
}

export const formatNumber = (n: number, locale: string, digits = 0) => new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(n);

const MB = 1024 * 1024;
/** The upload limit as the settings field shows it (MB, 1024-based like every size in the app). */
export const bytesToMb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
export const mbToBytes = (mb: number) => Math.round(mb * MB);

/** A browser-local date (`YYYY-MM-DD`) for file names. */
export function isoDay(at = new Date()): string {
  const pad = (v: number) => String(v).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** A session's browser and system in two words ("Chrome · Windows"), or '' when unknown. */
export function describeAgent(ua: string): string {
  if (!ua) return '';
  const browser = /Edg\//.test(ua) ? 'Edge' : /Whale\//.test(ua) ? 'Whale' : /SamsungBrowser\//.test(ua) ? 'Samsung Internet' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : /node|undici|curl/i.test(ua) ? 'API' : '';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iOS/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /Linux|X11/.test(ua) ? 'Linux' : '';
  return [browser, os].filter(Boolean).join(' · ') || ua.slice(0, 40);
}
