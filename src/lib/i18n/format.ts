/**
 * Times and dates as people read them in a chat, written by hand for the two UI languages rather
 * than left to `Intl` (whose Korean day periods differ between ICU builds: "PM 6:24" in Node,
 * "오후 6:24" in Chromium):
 * - message times: "오후 6:24" / "6:24 PM" (no leading zero);
 * - date separators: "2026년 12월 2일 수요일" / "Wednesday, December 2, 2026" (as KakaoTalk);
 * - the room list: "방금", "5분 전", "오후 3:10", "어제", "12월 2일", "2025. 12. 2." and the English
 *   equivalents ("now", "5 min", "3:10 PM", "Yesterday", "Dec 2", "12/2/2025").
 * Pure functions: the language and the clock are arguments.
 */
import type { Locale } from './locale.svelte.ts';

const KO_WEEKDAYS = ['일', '월', '화', '수', '목', '금', '토'];
const EN_WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const EN_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad2 = (n: number) => String(n).padStart(2, '0');

/** "오후 6:24" / "6:24 PM". */
export function formatTime(at: number, locale: Locale): string {
  const d = new Date(at);
  const h = d.getHours();
  const hour = h % 12 || 12;
  const min = pad2(d.getMinutes());
  return locale === 'ko' ? `${h < 12 ? '오전' : '오후'} ${hour}:${min}` : `${hour}:${min} ${h < 12 ? 'AM' : 'PM'}`;
}

/** "2026년 12월 2일 수요일" / "Wednesday, December 2, 2026". */
export function formatDay(at: number, locale: Locale): string {
  const d = new Date(at);
  if (locale === 'ko') return `${d.getFullYear()}년 ${d.getMonth() + 1}월 ${d.getDate()}일 ${KO_WEEKDAYS[d.getDay()]}요일`;
  return `${EN_WEEKDAYS[d.getDay()]}, ${EN_MONTHS[d.getMonth()]} ${d.getDate()}, ${d.getFullYear()}`;
}

/** A calendar day key in local time (two times on the same day share it). */
export const dayKey = (at: number) => {
  const d = new Date(at);
  return d.getFullYear() * 10000 + d.getMonth() * 100 + d.getDate();
};

/** A minute key (grouping: same sender, same minute; every time zone offset is whole minutes). */
export const minuteKey = (at: number) => Math.floor(at / 60_000);

/** "12월 2일" / "Dec 2". */
function shortDate(d: Date, locale: Locale): string {
  return locale === 'ko' ? `${d.getMonth() + 1}월 ${d.getDate()}일` : `${EN_MONTHS[d.getMonth()].slice(0, 3)} ${d.getDate()}`;
}

/** "2025. 12. 2." / "12/2/2025". */
function fullDate(d: Date, locale: Locale): string {
  return locale === 'ko' ? `${d.getFullYear()}. ${d.getMonth() + 1}. ${d.getDate()}.` : `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()}`;
}

/**
 * The room list's time of the last activity: relative within the hour, the time today, "어제",
 * the day this year, the full date before. A time in the future (another device's clock) reads "now".
 */
export function listTime(at: number, now: number, locale: Locale): string {
  if (!at) return '';
  const ago = now - at;
  if (ago < 60_000) return locale === 'ko' ? '방금' : 'now';
  if (ago < 3_600_000) {
    const min = Math.floor(ago / 60_000);
    return locale === 'ko' ? `${min}분 전` : `${min} min`;
  }
  const d = new Date(at);
  const today = dayKey(now);
  if (dayKey(at) === today) return formatTime(at, locale);
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (dayKey(at) === dayKey(yesterday.getTime())) return locale === 'ko' ? '어제' : 'Yesterday';
  if (d.getFullYear() === new Date(now).getFullYear()) return shortDate(d, locale);
  return fullDate(d, locale);
}
