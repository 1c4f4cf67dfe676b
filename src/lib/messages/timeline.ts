/**
 * The timeline as the UI reads it: the protocol's merged order (`mergeTimeline`, shared with the
 * server's tests so every client orders alike), flattened into one object per message.
 */
import { mergeTimeline, type SegmentView } from '$lib/protocol/timeline';
import type { Message } from '$lib/protocol/schema';

export interface TimelineMessage extends Message {
  /** The segment whose document holds the live copy: edits and deletes go there. */
  segment: number;
  /** Server order; null while the server has not acknowledged the message (pending). */
  seq: number | null;
  /** Server receive time, or null while pending. */
  at: number | null;
}

export function buildTimeline(segments: SegmentView[]): TimelineMessage[] {
  return mergeTimeline(segments).map(({ message, segment, receipt }) => ({ ...message, segment, seq: receipt?.seq ?? null, at: receipt?.at ?? null }));
}

/**
 * The outbox's posts (not yet in any document) among the pending messages, by `createdAt`, as the
 * protocol orders pending ones; a post already in a document is shown once, from the document.
 */
export function withQueued(timeline: TimelineMessage[], queued: Message[], openSegment: number): TimelineMessage[] {
  if (queued.length === 0) return timeline;
  const present = new Set(timeline.map((m) => m.id));
  const extra = queued.filter((m) => !present.has(m.id)).map((m) => ({ ...m, segment: openSegment, seq: null, at: null }));
  if (extra.length === 0) return timeline;
  const firstPending = timeline.findIndex((m) => m.seq === null);
  const accepted = firstPending < 0 ? timeline : timeline.slice(0, firstPending);
  const pending = [...(firstPending < 0 ? [] : timeline.slice(firstPending)), ...extra];
  pending.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return [...accepted, ...pending];
}

export type Row<F> = { kind: 'message'; message: TimelineMessage } | { kind: 'failed'; failed: F };

/**
 * Failed messages in their place: before the first later message of the same author (this
 * device's `createdAt` only grows, so that is where it was written), else at the end.
 */
export function placeFailed<F extends { createdAt: number }>(messages: TimelineMessage[], failed: F[], me: string): Row<F>[] {
  const rows: Row<F>[] = messages.map((message) => ({ kind: 'message', message }));
  const sorted = [...failed].sort((a, b) => a.createdAt - b.createdAt);
  for (const f of sorted) {
    const i = rows.findIndex((r) => r.kind === 'message' && r.message.author === me && r.message.createdAt > f.createdAt);
    const row: Row<F> = { kind: 'failed', failed: f };
    if (i < 0) rows.push(row);
    else rows.splice(i, 0, row);
  }
  return rows;
}
