/**
 * Reactions as the UI shows them: per message, per emoji, who reacted (in the order they did).
 * Read from the `reactions` maps of the segment documents (docs/PROTOCOL.md, "Reactions").
 */
import type * as Y from 'yjs';
import { parseReactionKey, SEGMENT_REACTIONS, type Reaction } from '$lib/protocol/schema';

export interface ReactionGroup {
  emoji: string;
  users: string[];
}

export type ReactionIndex = Map<string, ReactionGroup[]>;

export function collectReactions(docs: Iterable<Y.Doc>): ReactionIndex {
  const found: { messageId: string; userId: string; emoji: string; at: number }[] = [];
  for (const doc of docs) {
    for (const [key, value] of doc.getMap<Reaction>(SEGMENT_REACTIONS).entries()) {
      const parsed = parseReactionKey(key);
      if (parsed) found.push({ ...parsed, at: typeof value?.at === 'number' ? value.at : 0 });
    }
  }
  found.sort((a, b) => a.at - b.at);
  const index: ReactionIndex = new Map();
  for (const r of found) {
    let groups = index.get(r.messageId);
    if (!groups) index.set(r.messageId, (groups = []));
    let group = groups.find((g) => g.emoji === r.emoji);
    if (!group) groups.push((group = { emoji: r.emoji, users: [] }));
    if (!group.users.includes(r.userId)) group.users.push(r.userId);
  }
  return index;
}
