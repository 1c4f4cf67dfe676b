/**
 * What the device forgets when the server's retention erases history (docs/PROTOCOL.md,
 * "Retention: what clients forget"), as pure decisions over what the head says and what the
 * device holds:
 * - a segment copy whose number left the head's `segments` map was dropped: it is deleted, after
 *   the user's own unsent messages in it were taken out to be posted again in the open segment;
 * - in the copies that remain, a message received before `retentionHorizon` is hidden at once,
 *   and the copy is synced (the erasure arrives as deletions) and compacted.
 */
import type { Message, Receipt } from '$lib/protocol/schema';

/** What a synced head says about retention. */
export interface HeadRetention {
  /** Segment numbers still listed in the head's `segments` map. */
  segments: number[];
  /** `room.retentionHorizon` (ms; 0: nothing erased). */
  horizon: number;
}

/**
 * Local copies of dropped segments: below every segment the head still lists (retention drops
 * the oldest first; a segment opened after the head was read is above them). Nothing is decided
 * from an empty list: that is a head not loaded yet, never a room without segments.
 */
export function droppedSegments(local: Iterable<number>, head: HeadRetention): number[] {
  if (head.segments.length === 0) return [];
  const lowest = Math.min(...head.segments);
  const listed = new Set(head.segments);
  return [...new Set(local)].filter((n) => n < lowest && !listed.has(n)).sort((a, b) => a - b);
}

/** Copies that remain (still listed), which may hold erased messages. */
export function remainingSegments(local: Iterable<number>, head: HeadRetention): number[] {
  const listed = new Set(head.segments);
  return [...new Set(local)].filter((n) => listed.has(n)).sort((a, b) => a - b);
}

interface ReceiptsLike {
  get(id: string): Receipt | undefined;
  values(): Iterable<Receipt>;
}

/** Messages of a copy received before the horizon (erased on the server). */
export function expiredIds(messages: Iterable<[string, Message]>, receipts: ReceiptsLike, horizon: number): string[] {
  if (!horizon) return [];
  const out: string[] = [];
  for (const [id] of messages) {
    const r = receipts.get(id);
    if (r && r.at < horizon) out.push(id);
  }
  return out;
}

/** The oldest receipt time of a copy (null: none), kept to skip copies with nothing to erase. */
export function oldestReceipt(receipts: ReceiptsLike): number | null {
  let oldest: number | null = null;
  for (const r of receipts.values()) if (oldest === null || r.at < oldest) oldest = r.at;
  return oldest;
}

/** Whether a message is still shown under the horizon: pending ones always (no receipt yet). */
export const keptByRetention = (at: number | null, horizon: number) => !horizon || at === null || at >= horizon;

/**
 * The user's own messages in a copy that the server never acknowledged (no receipt, not deleted,
 * not a system line), in writing order: what must be posted again before the copy goes.
 */
export function rescuable(messages: Iterable<Message>, receipts: { has(id: string): boolean }, me: string): Message[] {
  return [...messages].filter((m) => m.author === me && !m.deleted && !m.system && !receipts.has(m.id)).sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Of the messages to post again, those not already posted elsewhere (the outbox holds them, or
 * another copy of the room has them: e.g. moved by the server into the open segment).
 */
export function toRepost(rescued: Message[], present: (id: string) => boolean): Message[] {
  const seen = new Set<string>();
  return rescued.filter((m) => {
    if (seen.has(m.id) || present(m.id)) return false;
    seen.add(m.id);
    return true;
  });
}
