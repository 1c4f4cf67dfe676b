/** Rooms, members, 1:1 pairs and segments. Callers wrap multi-row writes in one transaction. */
import type { Db } from '../db/database.ts';

export interface RoomRow {
  id: string;
  kind: 'direct' | 'group';
  name: string;
  visibility: 'joined' | 'shared';
  created_at: number;
  last_activity_at: number;
  last_seq: number;
  open_segment: number;
}

export interface MemberRow {
  room_id: string;
  user_id: string;
  role: 'admin' | 'member';
  joined_at: number;
  pinned: number;
  muted: number;
}

export interface MemberWithUser extends MemberRow {
  username: string;
  display_name: string;
  /** The member's profile photo version (users.avatar_at), null without one. */
  avatar_at: number | null;
}

export interface SegmentRow {
  room_id: string;
  n: number;
  opened_at: number;
  sealed_at: number | null;
  message_count: number;
  bytes: number;
  first_at: number | null;
  last_at: number | null;
}

export function roomsRepo(db: Db) {
  const s = {
    insertRoom: db.prepare(`INSERT INTO rooms (id, kind, name, visibility, created_at, last_activity_at)
                            VALUES (@id, @kind, @name, @visibility, @created_at, @created_at)`),
    byId: db.prepare('SELECT * FROM rooms WHERE id = ?'),
    update: db.prepare('UPDATE rooms SET name = @name, visibility = @visibility WHERE id = @id'),
    removeRoom: db.prepare('DELETE FROM rooms WHERE id = ?'),
    touch: db.prepare('UPDATE rooms SET last_activity_at = MAX(last_activity_at, ?) WHERE id = ?'),
    nextSeq: db.prepare('UPDATE rooms SET last_seq = last_seq + 1, last_activity_at = MAX(last_activity_at, @at) WHERE id = @id RETURNING last_seq').pluck(),
    setOpenSegment: db.prepare('UPDATE rooms SET open_segment = ? WHERE id = ?'),
    forUser: db.prepare(`SELECT r.*, m.role, m.pinned, m.muted, m.joined_at FROM rooms r
                         JOIN room_members m ON m.room_id = r.id WHERE m.user_id = ?
                         ORDER BY m.pinned DESC, r.last_activity_at DESC`),
    insertMember: db.prepare(`INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
                              ON CONFLICT (room_id, user_id) DO NOTHING`),
    member: db.prepare('SELECT * FROM room_members WHERE room_id = ? AND user_id = ?'),
    members: db.prepare(`SELECT m.*, u.username, u.display_name, u.avatar_at FROM room_members m JOIN users u ON u.id = m.user_id
                         WHERE m.room_id = ? ORDER BY m.joined_at, u.username`),
    memberIds: db.prepare('SELECT user_id FROM room_members WHERE room_id = ?').pluck(),
    removeMember: db.prepare('DELETE FROM room_members WHERE room_id = ? AND user_id = ?'),
    setRole: db.prepare('UPDATE room_members SET role = ? WHERE room_id = ? AND user_id = ?'),
    adminCount: db.prepare("SELECT COUNT(*) FROM room_members WHERE room_id = ? AND role = 'admin'").pluck(),
    oldestMember: db.prepare('SELECT * FROM room_members WHERE room_id = ? ORDER BY joined_at, rowid LIMIT 1'),
    setPrefs: db.prepare('UPDATE room_members SET pinned = @pinned, muted = @muted WHERE room_id = @room_id AND user_id = @user_id'),
    directRoom: db.prepare('SELECT room_id FROM direct_pairs WHERE user_a = ? AND user_b = ?').pluck(),
    insertDirect: db.prepare('INSERT INTO direct_pairs (user_a, user_b, room_id) VALUES (?, ?, ?)'),
    insertSegment: db.prepare('INSERT INTO segments (room_id, n, opened_at) VALUES (?, ?, ?)'),
    segment: db.prepare('SELECT * FROM segments WHERE room_id = ? AND n = ?'),
    segments: db.prepare('SELECT * FROM segments WHERE room_id = ? ORDER BY n'),
    seal: db.prepare('UPDATE segments SET sealed_at = ? WHERE room_id = ? AND n = ? AND sealed_at IS NULL'),
    countIfOpen: db.prepare(`UPDATE segments SET message_count = message_count + 1, bytes = bytes + @bytes,
                              first_at = COALESCE(first_at, @at), last_at = @at
                              WHERE room_id = @room_id AND n = @n AND sealed_at IS NULL RETURNING message_count, bytes`),
    addReader: db.prepare('INSERT OR IGNORE INTO segment_readers (room_id, n, user_id) VALUES (?, ?, ?)'),
    removeReader: db.prepare('DELETE FROM segment_readers WHERE room_id = ? AND n = ? AND user_id = ?'),
    isReader: db.prepare('SELECT 1 FROM segment_readers WHERE room_id = ? AND n = ? AND user_id = ?').pluck(),
    readableSegments: db.prepare('SELECT n FROM segment_readers WHERE room_id = ? AND user_id = ? ORDER BY n').pluck(),
    roomsOfUser: db.prepare('SELECT room_id FROM room_members WHERE user_id = ?').pluck(),
  };
  return {
    insertRoom: (r: Pick<RoomRow, 'id' | 'kind' | 'name' | 'visibility' | 'created_at'>) => void s.insertRoom.run(r),
    byId: (id: string) => s.byId.get(id) as RoomRow | undefined,
    update: (id: string, name: string, visibility: string) => void s.update.run({ id, name, visibility }),
    removeRoom: (id: string) => void s.removeRoom.run(id),
    touch: (id: string, at: number) => void s.touch.run(at, id),
    nextSeq: (id: string, at: number) => s.nextSeq.get({ id, at }) as number,
    setOpenSegment: (id: string, n: number) => void s.setOpenSegment.run(n, id),
    forUser: (userId: string) =>
      s.forUser.all(userId) as (RoomRow & Pick<MemberRow, 'role' | 'pinned' | 'muted' | 'joined_at'>)[],
    insertMember: (roomId: string, userId: string, role: 'admin' | 'member', at: number) =>
      s.insertMember.run(roomId, userId, role, at).changes > 0,
    member: (roomId: string, userId: string) => s.member.get(roomId, userId) as MemberRow | undefined,
    members: (roomId: string) => s.members.all(roomId) as MemberWithUser[],
    memberIds: (roomId: string) => s.memberIds.all(roomId) as string[],
    removeMember: (roomId: string, userId: string) => s.removeMember.run(roomId, userId).changes > 0,
    setRole: (roomId: string, userId: string, role: 'admin' | 'member') => void s.setRole.run(role, roomId, userId),
    adminCount: (roomId: string) => s.adminCount.get(roomId) as number,
    oldestMember: (roomId: string) => s.oldestMember.get(roomId) as MemberRow | undefined,
    setPrefs: (roomId: string, userId: string, pinned: boolean, muted: boolean) =>
      void s.setPrefs.run({ room_id: roomId, user_id: userId, pinned: pinned ? 1 : 0, muted: muted ? 1 : 0 }),
    directRoom: (a: string, b: string) => s.directRoom.get(...(a < b ? [a, b] : [b, a])) as string | undefined,
    insertDirect: (a: string, b: string, roomId: string) => void s.insertDirect.run(...(a < b ? [a, b] : [b, a]), roomId),
    insertSegment: (roomId: string, n: number, at: number) => void s.insertSegment.run(roomId, n, at),
    segment: (roomId: string, n: number) => s.segment.get(roomId, n) as SegmentRow | undefined,
    segments: (roomId: string) => s.segments.all(roomId) as SegmentRow[],
    seal: (roomId: string, n: number, at: number) => s.seal.run(at, roomId, n).changes > 0,
    /** Counts a message in segment n if it is open; returns its new counters, or undefined when sealed or missing. */
    countIfOpen: (roomId: string, n: number, bytes: number, at: number) =>
      s.countIfOpen.get({ room_id: roomId, n, bytes, at }) as { message_count: number; bytes: number } | undefined,
    addReader: (roomId: string, n: number, userId: string) => void s.addReader.run(roomId, n, userId),
    removeReader: (roomId: string, n: number, userId: string) => void s.removeReader.run(roomId, n, userId),
    isReader: (roomId: string, n: number, userId: string) => s.isReader.get(roomId, n, userId) === 1,
    readableSegments: (roomId: string, userId: string) => s.readableSegments.all(roomId, userId) as number[],
    roomsOfUser: (userId: string) => s.roomsOfUser.all(userId) as string[],
  };
}
export type RoomsRepo = ReturnType<typeof roomsRepo>;
