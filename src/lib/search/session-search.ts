/**
 * The message search wired to the signed-in session: online state and the published search limit
 * from the session, the device's messages from its collaboration client, room list and outbox,
 * and the retention horizon of each room from its tracker. One per signed-in layout.
 */
import type { CollabClient } from '$lib/collab/collab-client.svelte.ts';
import type { Session } from '$lib/state/session.svelte.ts';
import { FALLBACK_SEARCH_LIMIT } from './budget.ts';
import { LocalMessages } from './local-copies.ts';
import { MessageSearch } from './message-search.svelte.ts';

export function sessionSearch(session: Session): MessageSearch {
  let local: { collab: CollabClient; messages: LocalMessages } | null = null;
  return new MessageSearch({
    online: () => session.collab?.online ?? navigator.onLine,
    limit: () => {
      const l = session.config?.rateLimits?.search;
      return l && l.points > 0 && l.durationSec > 0 ? l : FALLBACK_SEARCH_LIMIT;
    },
    local: () => {
      const collab = session.collab;
      const user = session.user;
      if (!collab || !user || collab.closed) return null;
      if (local?.collab !== collab) {
        local = {
          collab,
          messages: new LocalMessages({
            userId: user.id,
            collab,
            roomIds: () => session.rooms.entries.map((e) => e.id),
            queued: (roomId) => session.outbox.of(roomId),
            openSegment: (roomId) => session.rooms.tracker(roomId)?.openSegment ?? 0,
          }),
        };
      }
      return local.messages;
    },
    horizon: (roomId) => session.rooms.tracker(roomId)?.horizon ?? 0,
  });
}
