/**
 * Every access decision goes through here. "Not a member" and "does not exist" answer the same
 * (`not-found`), so nobody can probe for rooms they may not see.
 */
import type { RoomsRepo, RoomRow, MemberRow } from '../repos/rooms.ts';
import { parseDocName } from '../../src/lib/protocol/schema.ts';
import { fail } from '../domain/errors.ts';

export interface DocAccess {
  /** '' for the user document */
  roomId: string;
  /** null for the head document */
  segment: number | null;
  readOnly: boolean;
  role: 'admin' | 'member';
}

export function accessPolicy(rooms: RoomsRepo) {
  function membership(userId: string, roomId: string): { room: RoomRow; member: MemberRow } {
    const room = rooms.byId(roomId);
    const member = room && rooms.member(roomId, userId);
    if (!room || !member) return fail('not-found');
    return { room, member };
  }

  function canReadSegment(userId: string, room: RoomRow, n: number): boolean {
    if (!rooms.segment(room.id, n)) return false;
    if (room.visibility === 'shared') return true;
    return rooms.isReader(room.id, n, userId);
  }

  return {
    membership,
    requireAdmin(userId: string, roomId: string) {
      const m = membership(userId, roomId);
      if (m.member.role !== 'admin') fail('not-admin');
      return m;
    },
    /** Decides what a connection may do with a document; throws `not-found` when it may not see it. */
    document(userId: string, docName: string): DocAccess {
      const parsed = parseDocName(docName);
      if (!parsed) return fail('not-found');
      if (parsed.kind === 'presence') return { roomId: '', segment: null, readOnly: true, role: 'member' };
      if (parsed.kind === 'user') {
        if (parsed.userId !== userId) return fail('not-found');
        return { roomId: '', segment: null, readOnly: true, role: 'member' };
      }
      const { room, member } = membership(userId, parsed.roomId);
      if (parsed.kind === 'head') return { roomId: room.id, segment: null, readOnly: true, role: member.role };
      if (!canReadSegment(userId, room, parsed.n)) return fail('not-found');
      return { roomId: room.id, segment: parsed.n, readOnly: false, role: member.role };
    },
    /** May delete other members' messages: admins of group rooms (in a 1:1 nobody moderates the other). */
    moderates(userId: string, roomId: string): boolean {
      const room = rooms.byId(roomId);
      return room?.kind === 'group' && rooms.member(roomId, userId)?.role === 'admin';
    },
    /**
     * What search may return to the user: per member room, every segment (shared rooms, or a reader
     * of all of them) or the readable ones.
     */
    searchScope(userId: string): { roomId: string; segments: number[] | 'all' }[] {
      const out: { roomId: string; segments: number[] | 'all' }[] = [];
      for (const roomId of rooms.roomsOfUser(userId)) {
        const room = rooms.byId(roomId);
        if (!room) continue;
        if (room.visibility === 'shared') {
          out.push({ roomId, segments: 'all' });
          continue;
        }
        const readable = rooms.readableSegments(roomId, userId);
        out.push({ roomId, segments: readable.length === rooms.segments(roomId).length ? 'all' : readable });
      }
      return out;
    },
    /** Segment numbers the user may read, oldest first. */
    readableSegments(userId: string, roomId: string): number[] {
      const { room } = membership(userId, roomId);
      if (room.visibility === 'shared') return rooms.segments(roomId).map((s) => s.n);
      return rooms.readableSegments(roomId, userId);
    },
  };
}
export type AccessPolicy = ReturnType<typeof accessPolicy>;
