/**
 * Mirrors a room's SQLite truth (name, kind, visibility, members and roles, segments) into its head
 * document, which clients can only read. Called after every committed room change.
 */
import * as Y from 'yjs';
import { HEAD_MEMBERS, HEAD_ROOM, HEAD_SEGMENTS, headName, type Member, type SegmentInfo } from '../../src/lib/protocol/schema.ts';
import type { RoomsRepo } from '../repos/rooms.ts';
import { serverOrigin } from './origins.ts';

export function writeHead(doc: Y.Doc, rooms: RoomsRepo, roomId: string): void {
  const room = rooms.byId(roomId);
  if (!room) return;
  doc.transact(() => {
    const meta = doc.getMap(HEAD_ROOM);
    const fields: Record<string, unknown> = { id: room.id, name: room.name, kind: room.kind, visibility: room.visibility, createdAt: room.created_at, openSegment: room.open_segment };
    for (const [k, v] of Object.entries(fields)) if (meta.get(k) !== v) meta.set(k, v);

    const members = doc.getMap<Member>(HEAD_MEMBERS);
    const current = new Map(rooms.members(roomId).map((m) => [m.user_id, { role: m.role, joinedAt: m.joined_at, username: m.username, displayName: m.display_name } satisfies Member]));
    for (const key of [...members.keys()]) if (!current.has(key)) members.delete(key);
    for (const [id, m] of current) if (JSON.stringify(members.get(id)) !== JSON.stringify(m)) members.set(id, m);

    const segments = doc.getMap<SegmentInfo>(HEAD_SEGMENTS);
    for (const s of rooms.segments(roomId)) {
      const info: SegmentInfo = { n: s.n, openedAt: s.opened_at, sealedAt: s.sealed_at };
      if (JSON.stringify(segments.get(String(s.n))) !== JSON.stringify(info)) segments.set(String(s.n), info);
    }
  }, serverOrigin('head-mirror'));
}
