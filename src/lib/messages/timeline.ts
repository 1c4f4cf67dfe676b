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
