/**
 * Toggling a reaction: `reactions[reactionKey(messageId, me, emoji)] = {at}` in the segment the
 * message lives in, removed with a delete (docs/PROTOCOL.md, "Reactions"). The key is checked with
 * the protocol's parser first: a refused write would cost the whole segment's local copy.
 */
import type { User } from '$lib/api/types.ts';
import { handleError, RefusalError } from '$lib/errors/handle-error.ts';
import { parseReactionKey, reactionKey, SEGMENT_REACTIONS, type Reaction } from '$lib/protocol/schema';
import type { TimelineMessage } from '$lib/messages/timeline.ts';
import type * as Y from 'yjs';

export function toggleReaction(doc: Y.Doc | null, me: User, message: TimelineMessage, emoji: string): void {
  if (!doc || message.deleted || message.system) return;
  const key = reactionKey(message.id, me.id, emoji);
  if (!parseReactionKey(key)) return handleError(new RefusalError('schema-violation'));
  const map = doc.getMap<Reaction>(SEGMENT_REACTIONS);
  if (map.has(key)) map.delete(key);
  else map.set(key, { at: Date.now() });
}
