/** Reading segment documents (docs/PROTOCOL.md, "Segment document"). */
import type * as Y from 'yjs';
import { SEGMENT_MESSAGES, SEGMENT_RECEIPTS, type Message, type Receipt } from '$lib/protocol/schema';
import type { SegmentView } from '$lib/protocol/timeline';

export function segmentView(n: number, doc: Y.Doc): SegmentView {
  return { n, messages: doc.getMap<Message>(SEGMENT_MESSAGES).entries(), receipts: doc.getMap<Receipt>(SEGMENT_RECEIPTS) };
}

/** The author's messages in this copy that the server has not given a receipt yet (not deleted). */
export function ownUnacked(doc: Y.Doc, authorId: string): Message[] {
  const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
  return [...doc.getMap<Message>(SEGMENT_MESSAGES).values()].filter((m) => m.author === authorId && !m.deleted && !m.system && !receipts.has(m.id));
}
