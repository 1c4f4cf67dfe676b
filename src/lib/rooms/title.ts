/** What a room is called in lists and headers: the other person for 1:1, the name for groups. */
import type { RoomSummary } from '$lib/api/types.ts';
import { t } from '$lib/i18n/index.ts';

export function roomTitle(room: Pick<RoomSummary, 'kind' | 'name' | 'peer'>): string {
  if (room.kind === 'direct') return room.peer ? room.peer.displayName || room.peer.username : t.room.directFallback;
  return room.name || t.room.unnamedGroup;
}
