/** What a room is called in lists and headers: the other person for 1:1, the name for groups. */
import type { RoomSummary } from '$lib/api/types.ts';
import { i18n, t } from '$lib/i18n/index.ts';

export function roomTitle(room: Pick<RoomSummary, 'kind' | 'name' | 'peer'>): string {
  if (room.kind === 'direct') return room.peer ? room.peer.displayName || room.peer.username : t.room.directFallback;
  return room.name || t.room.unnamedGroup;
}

/** One or two letters for the avatar circle. */
export function initials(name: string): string {
  const letters = [...name.trim()];
  return (letters[0] ?? '?').toUpperCase();
}

/** Today: the time; this year: day and month; else the date. */
export function shortTime(at: number, now = Date.now()): string {
  if (!at) return '';
  const d = new Date(at);
  const n = new Date(now);
  if (d.toDateString() === n.toDateString()) return d.toLocaleTimeString(i18n.dateLocale, { hour: '2-digit', minute: '2-digit' });
  if (d.getFullYear() === n.getFullYear()) return d.toLocaleDateString(i18n.dateLocale, { month: 'short', day: 'numeric' });
  return d.toLocaleDateString(i18n.dateLocale);
}
