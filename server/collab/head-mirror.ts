/**
 * Mirrors a room's SQLite truth (name, kind, visibility, members and roles, segments) into its head
 * document, which clients can only read. Called after every committed room change.
 */
import * as Y from 'yjs';
import { HEAD_MEMBERS, HEAD_PINS, HEAD_POLLS, HEAD_READS, HEAD_ROOM, HEAD_SEGMENTS, type Member, type Pin, type Poll, type SegmentInfo } from '../../src/lib/protocol/schema.ts';
import type { RoomsRepo } from '../repos/rooms.ts';
import type { PollService } from '../domain/polls.ts';

/** Sets map[key] = value unless it already holds an equal value (no churn, no tombstones). */
function put<T>(map: Y.Map<T>, key: string, value: T) {
  if (JSON.stringify(map.get(key)) !== JSON.stringify(value)) map.set(key, value);
}

/** Makes the map hold exactly `entries`. */
function sync<T>(map: Y.Map<T>, entries: Map<string, T>) {
  for (const key of [...map.keys()]) if (!entries.has(key)) map.delete(key);
  for (const [k, v] of entries) put(map, k, v);
}
import { serverOrigin } from './origins.ts';

export function writeHead(doc: Y.Doc, rooms: RoomsRepo, polls: PollService, roomId: string, retention: { days: number; horizon: number } = { days: 0, horizon: 0 }): void {
  const room = rooms.byId(roomId);
  if (!room) return;
  doc.transact(() => {
    const meta = doc.getMap(HEAD_ROOM);
    const fields: Record<string, unknown> = {
      id: room.id, name: room.name, kind: room.kind, visibility: room.visibility, createdAt: room.created_at, openSegment: room.open_segment,
      // what clients forget: segments no longer listed, and messages received before the horizon
      retentionDays: retention.days, retentionHorizon: retention.horizon,
    };
    for (const [k, v] of Object.entries(fields)) put(meta, k, v);

    sync(doc.getMap<Member>(HEAD_MEMBERS), new Map(rooms.members(roomId).map((m) => [m.user_id, { role: m.role, joinedAt: m.joined_at, username: m.username, displayName: m.display_name, ...(m.avatar_at ? { avatarAt: m.avatar_at } : {}) } satisfies Member])));
    sync(doc.getMap<number>(HEAD_READS), new Map(Object.entries(polls.roomReads(roomId))));
    sync(doc.getMap<Pin>(HEAD_PINS), new Map(polls.roomPins(roomId).map((p) => [p.id, p])));
    sync(doc.getMap<Poll>(HEAD_POLLS), new Map(polls.roomPolls(roomId).map((p) => [p.id, p])));

    // a segment dropped by retention leaves the list
    sync(doc.getMap<SegmentInfo>(HEAD_SEGMENTS), new Map(rooms.segments(roomId).map((s) => [String(s.n), { n: s.n, openedAt: s.opened_at, sealedAt: s.sealed_at } satisfies SegmentInfo])));
  }, serverOrigin('head-mirror'));
}
