/**
 * The rows the timeline renders, in order: date separators, the "read up to here" divider,
 * messages grouped as KakaoTalk groups them, system lines and failed messages in their place.
 *
 * Grouping: consecutive messages of the same sender within the same minute form a group; the
 * group shows the sender's name and avatar once (on its first message) and the time once (on its
 * last). A date separator, the unread divider, a system line or a failed message ends a group.
 */
import { dayKey, minuteKey } from '$lib/i18n/format.ts';
import { placeFailed, type TimelineMessage } from './timeline.ts';

export type TimelineRow<F> =
  | { kind: 'date'; key: string; at: number }
  | { kind: 'unread'; key: 'unread' }
  | { kind: 'system'; key: string; message: TimelineMessage }
  | { kind: 'message'; key: string; message: TimelineMessage; first: boolean; last: boolean }
  | { kind: 'failed'; key: string; failed: F };

/** When a message is shown as written: the server's time, or the device's while pending. */
export const shownAt = (m: Pick<TimelineMessage, 'at' | 'createdAt'>) => m.at ?? m.createdAt;

/**
 * `unreadFrom`: id of the first message to show below the unread divider (null: no divider).
 * Failed messages are placed as `placeFailed` places them.
 */
export function timelineRows<F extends { id: string; createdAt: number }>(messages: TimelineMessage[], failed: F[], me: string, unreadFrom: string | null): TimelineRow<F>[] {
  const rows: TimelineRow<F>[] = [];
  let day: number | null = null;
  for (const r of placeFailed(messages, failed, me)) {
    if (r.kind === 'failed') {
      rows.push({ kind: 'failed', key: 'f:' + r.failed.id, failed: r.failed });
      continue;
    }
    const m = r.message;
    const at = shownAt(m);
    if (dayKey(at) !== day) {
      day = dayKey(at);
      rows.push({ kind: 'date', key: `d:${day}:${m.id}`, at });
    }
    if (m.id === unreadFrom) rows.push({ kind: 'unread', key: 'unread' });
    if (m.system) {
      rows.push({ kind: 'system', key: m.id, message: m });
      continue;
    }
    const prev = rows.at(-1);
    const joins = prev?.kind === 'message' && prev.message.author === m.author && minuteKey(shownAt(prev.message)) === minuteKey(at);
    if (joins) prev.last = false;
    rows.push({ kind: 'message', key: m.id, message: m, first: !joins, last: true });
  }
  return rows;
}

/**
 * Where the unread divider goes when a room opens: the first message of another member after the
 * read position the device had (`mark`, a receipt seq), or — a room never read here — after the
 * user's first sign-in on this device (`since`, ms). Null when nothing is unread.
 */
export function firstUnread(messages: TimelineMessage[], me: string, mark: number | null, since: number): string | null {
  for (const m of messages) {
    if (m.author === me || m.system || m.deleted || m.seq === null) continue;
    if (mark === null ? (m.at ?? 0) > since : m.seq > mark) return m.id;
  }
  return null;
}
