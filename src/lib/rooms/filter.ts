/** The room filter of the sidebar: case- and form-insensitive match on what the list shows. */
import type { RoomSummary } from '$lib/api/types.ts';
import { roomTitle } from './title.ts';

const fold = (s: string) => s.normalize('NFC').toLocaleLowerCase();

export function filterRooms<T extends Pick<RoomSummary, 'kind' | 'name' | 'peer'>>(rooms: readonly T[], query: string): readonly T[] {
  const q = fold(query.trim());
  if (!q) return rooms;
  return rooms.filter((r) => fold(roomTitle(r)).includes(q) || (r.kind === 'direct' && r.peer && fold(r.peer.username).includes(q)));
}
