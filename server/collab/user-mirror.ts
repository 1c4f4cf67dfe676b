/**
 * Mirrors a user's room list and profile into their read-only user document `user:<userId>`, so the
 * client has its room list offline and learns of new rooms without polling.
 */
import * as Y from 'yjs';
import { USER_PROFILE, USER_ROOMS, type RoomEntry } from '../../src/lib/protocol/schema.ts';
import type { RoomService } from '../domain/rooms.ts';
import type { UsersRepo } from '../repos/users.ts';
import { toPublicUser } from '../repos/users.ts';
import { serverOrigin } from './origins.ts';

export function writeUserDoc(doc: Y.Doc, rooms: RoomService, users: UsersRepo, userId: string): void {
  const user = users.byId(userId);
  doc.transact(() => {
    const profile = doc.getMap(USER_PROFILE);
    if (user) {
      const fields = toPublicUser(user);
      for (const [k, v] of Object.entries(fields)) if (profile.get(k) !== v) profile.set(k, v);
      // a field the user no longer has (a removed photo's `avatarAt`) leaves the profile
      for (const k of [...profile.keys()]) if (!(k in fields)) profile.delete(k);
    }
    const map = doc.getMap<RoomEntry>(USER_ROOMS);
    const current = new Map<string, RoomEntry>(
      // the room list without the activity fields, which change with every message
      (user ? rooms.list(userId) : []).map(({ lastActivityAt: _a, openSegment: _o, ...entry }) => [entry.id, entry]),
    );
    for (const key of [...map.keys()]) if (!current.has(key)) map.delete(key);
    for (const [id, entry] of current) if (JSON.stringify(map.get(id)) !== JSON.stringify(entry)) map.set(id, entry);
  }, serverOrigin('user-mirror'));
}
