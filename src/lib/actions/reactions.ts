/**
 * Toggling a reaction: `reactions[reactionKey(messageId, me, emoji)] = {at}` in the segment the
 * message lives in, removed with a delete (docs/PROTOCOL.md, "Reactions"). The key is checked with
 * the protocol's parser first: a refused write would cost the whole segment's local copy.
 */
import type { User } from '$lib/api/types.ts';
import { handleError, RefusalError } from '$lib/errors/handle-error.ts';
import { parseReactionKey, reactionKey, SEGMENT_MESSAGES, SEGMENT_REACTIONS, type Reaction } from '$lib/protocol/schema';
import type { TimelineMessage } from '$lib/messages/timeline.ts';
import type { RoomView } from '$lib/state/room-view.svelte.ts';

/** Counts against the write budget like any message write. */
export function toggleReaction(room: RoomView, me: User, message: TimelineMessage, emoji: string): void {
  const doc = room.docOf(message.segment);
  // a post still in the outbox is not in the document yet: nothing to react to there
  if (!doc || message.deleted || message.system || !doc.getMap(SEGMENT_MESSAGES).has(message.id)) return;
  const key = reactionKey(message.id, me.id, emoji);
  if (!parseReactionKey(key)) return handleError(new RefusalError('schema-violation'));
  const map = doc.getMap<Reaction>(SEGMENT_REACTIONS);
  room.countWrite();
  if (map.has(key)) map.delete(key);
  else map.set(key, { at: Date.now() });
}
