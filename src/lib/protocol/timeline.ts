/**
 * The merged, ordered view of a room's messages across its segments (docs/PROTOCOL.md, "Reading and
 * ordering"). Pure: the web app and the tests use the same function, so every client orders alike.
 */
import type { Message, Receipt } from './schema.ts';

export interface SegmentView {
  n: number;
  messages: Iterable<[string, Message]>;
  receipts: { get(id: string): Receipt | undefined };
}

export interface TimelineEntry {
  message: Message;
  /** Segment the message lives in (where it is edited). */
  segment: number;
  receipt: Receipt | null;
}

/**
 * Dedupe by id, drop copies marked `movedTo`, order accepted messages by `seq` and put pending ones
 * (no receipt yet) last by `createdAt`, then id, so that the order is total and stable.
 */
export function mergeTimeline(segments: SegmentView[]): TimelineEntry[] {
  const byId = new Map<string, TimelineEntry>();
  for (const seg of segments) {
    for (const [id, message] of seg.messages) {
      const receipt = seg.receipts.get(id) ?? null;
      if (receipt?.movedTo !== undefined && receipt.movedTo !== seg.n) continue;
      const prev = byId.get(id);
      // the same id can sit pending in a sealed segment and accepted in the open one: keep the accepted
      if (prev && (prev.receipt || !receipt)) continue;
      byId.set(id, { message, segment: seg.n, receipt });
    }
  }
  return [...byId.values()].sort((a, b) => {
    if (a.receipt && b.receipt) return a.receipt.seq - b.receipt.seq;
    if (a.receipt) return -1;
    if (b.receipt) return 1;
    return a.message.createdAt - b.message.createdAt || (a.message.id < b.message.id ? -1 : a.message.id > b.message.id ? 1 : 0);
  });
}
