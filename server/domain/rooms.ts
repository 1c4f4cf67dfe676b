/**
 * Room rules: 1:1 and group rooms, invite, leave, kick, roles, rename, visibility, per-user prefs,
 * and the segment lifecycle that carries history visibility. Every multi-row change runs in one
 * transaction; events are emitted after it commits.
 */
import type { Db } from '../db/database.ts';
import type { RoomsRepo, RoomRow, SegmentRow } from '../repos/rooms.ts';
import type { MessagesRepo } from '../repos/messages.ts';
import type { DocumentsRepo } from '../repos/documents.ts';
import type { UsersRepo } from '../repos/users.ts';
import type { AccessPolicy } from '../auth/access.ts';
import type { Clock, EventBus, Ids } from './deps.ts';
import { fail } from './errors.ts';
import type { RoomSummary } from '../../src/lib/protocol/schema.ts';

export type { RoomSummary };

export interface RoomDeps {
  db: Db;
  rooms: RoomsRepo;
  messages: MessagesRepo;
  documents: DocumentsRepo;
  users: UsersRepo;
  access: AccessPolicy;
  clock: Clock;
  ids: Ids;
  events: EventBus;
  segmentMaxMessages: number;
  segmentMaxBytes: number;
  /** Drops a removed room's search index rows (the index is a virtual table: no cascade). */
  removeSearchInTx: (roomId: string) => void;
  /** Writes an audit entry inside the action's transaction. */
  audit: (e: import('./audit.ts').AuditEntry) => void;
}


export class RoomService {
  constructor(private d: RoomDeps) {}

  /** Runs fn in a transaction, or as part of the caller's (the write queue's batch): no savepoint per call. */
  private tx<T>(fn: () => T): T {
    return this.d.db.inTransaction ? fn() : this.d.db.transaction(fn)();
  }

  // ---- segments ---------------------------------------------------------------------------

  /** Opens segment n with the current members as readers. Inside a transaction. */
  private openSegment(roomId: string, n: number, at: number) {
    this.d.rooms.insertSegment(roomId, n, at);
    for (const uid of this.d.rooms.memberIds(roomId)) this.d.rooms.addReader(roomId, n, uid);
    this.d.rooms.setOpenSegment(roomId, n);
  }

  /**
   * Membership changed. In a `joined` room a new segment starts so that readers stay fixed per segment;
   * an open segment with no messages yet just gets its readers adjusted (no empty segments pile up).
   * In a `shared` room a newcomer becomes a reader of the open segment.
   */
  private onMembershipChange(room: RoomRow, added: string[], removed: string[]) {
    const open = this.d.rooms.segment(room.id, room.open_segment)!;
    if (room.visibility === 'shared' || open.message_count === 0) {
      for (const uid of added) this.d.rooms.addReader(room.id, open.n, uid);
      if (open.message_count === 0) for (const uid of removed) this.d.rooms.removeReader(room.id, open.n, uid);
      return;
    }
    this.sealAndOpenNext(room.id, open.n);
  }

  private sealAndOpenNext(roomId: string, n: number) {
    const at = this.d.clock.now();
    if (this.d.rooms.seal(roomId, n, at)) this.openSegment(roomId, n + 1, at);
  }

  /**
   * Reserves a new message's place in the room: its room-wide seq and server time, the segment it
   * counts in (the one it was written to, or the open segment when that one is sealed: the message
   * is then moved there), the segment counters, and a seal when the segment reached its bound.
   * Idempotent: a message id that already has a row gets that row back (`fresh: false`), so the
   * same message gets the same seq whoever asks. Runs inside the caller's transaction (the write
   * queue's batch); the caller emits `room-changed` for `sealed` after the batch has committed.
   */
  reserveMessage(
    roomId: string, writtenIn: number, id: string, author: string, bytes: number,
    /** The caller has just checked that the room has no such id (the validator): skip the lookup; the primary key still holds. */
    opts: { checkedAbsent?: boolean } = {},
  ): { seq: number; at: number; segment: number; sealed: boolean; fresh: boolean } {
    return this.tx(() => {
      const known = opts.checkedAbsent ? undefined : this.d.messages.get(roomId, id);
      if (known) return { seq: known.seq, at: known.at, segment: known.segment, sealed: false, fresh: false };
      const at = this.d.clock.now();
      const seq = this.d.rooms.nextSeq(roomId, at);
      let n = writtenIn;
      let counters = this.d.rooms.countIfOpen(roomId, n, bytes, at);
      if (!counters) {
        // written into a sealed segment: it counts in the open one (and is moved there)
        n = this.d.rooms.byId(roomId)!.open_segment;
        counters = this.d.rooms.countIfOpen(roomId, n, bytes, at)!;
      }
      this.d.messages.insert({ room_id: roomId, message_id: id, segment: n, seq, at, author });
      let sealed = false;
      if (counters.message_count >= this.d.segmentMaxMessages || counters.bytes >= this.d.segmentMaxBytes) {
        this.sealAndOpenNext(roomId, n);
        sealed = true;
      }
      return { seq, at, segment: n, sealed, fresh: true };
    });
  }

  /** The segment a message id counts in, or undefined when the room has no such message. */
  messageSegment(roomId: string, id: string): number | undefined {
    return this.d.messages.get(roomId, id)?.segment;
  }

  segment(roomId: string, n: number): SegmentRow | undefined {
    return this.d.rooms.segment(roomId, n);
  }

  openSegmentOf(roomId: string): number {
    return this.d.rooms.byId(roomId)?.open_segment ?? 0;
  }

  // ---- queries ------------------------------------------------------------------------------

  list(userId: string): RoomSummary[] {
    return this.d.rooms.forUser(userId).map((r) => ({
      id: r.id,
      kind: r.kind,
      name: r.name,
      visibility: r.visibility,
      role: r.role,
      pinned: r.pinned === 1,
      muted: r.muted === 1,
      lastActivityAt: r.last_activity_at,
      openSegment: r.open_segment,
      createdAt: r.created_at,
      joinedAt: r.joined_at,
      peer: r.kind === 'direct' ? this.peerOf(r.id, userId) : null,
    }));
  }

  private peerOf(roomId: string, userId: string) {
    const other = this.d.rooms.members(roomId).find((m) => m.user_id !== userId);
    return other ? { id: other.user_id, username: other.username, displayName: other.display_name, ...(other.avatar_at ? { avatarAt: other.avatar_at } : {}) } : null;
  }

  get(userId: string, roomId: string) {
    const { room, member } = this.d.access.membership(userId, roomId);
    return {
      id: room.id,
      kind: room.kind,
      name: room.name,
      visibility: room.visibility,
      createdAt: room.created_at,
      lastActivityAt: room.last_activity_at,
      openSegment: room.open_segment,
      role: member.role,
      pinned: member.pinned === 1,
      muted: member.muted === 1,
      segments: this.d.access.readableSegments(userId, roomId),
      members: this.d.rooms.members(roomId).map((m) => ({
        id: m.user_id,
        username: m.username,
        displayName: m.display_name,
        role: m.role,
        joinedAt: m.joined_at,
        ...(m.avatar_at ? { avatarAt: m.avatar_at } : {}),
      })),
    };
  }

  // ---- commands -----------------------------------------------------------------------------

  create(actorId: string, input: { name?: string; memberIds: string[]; visibility?: 'joined' | 'shared' }) {
    const others = [...new Set(input.memberIds)].filter((id) => id !== actorId);
    for (const id of others) if (!this.d.users.byId(id)?.id) fail('not-found', `No user ${id}.`);
    if (others.length === 0) fail('validation-failed', 'A room needs at least one other member.');
    const now = this.d.clock.now();

    if (others.length === 1 && input.name === undefined) {
      const peer = others[0];
      const { roomId, changed } = this.tx(() => {
        const existing = this.d.rooms.directRoom(actorId, peer);
        if (existing) {
          // a 1:1 room is reused; whoever had left comes back
          const room = this.d.rooms.byId(existing)!;
          const added = [actorId, peer].filter((uid) => this.d.rooms.insertMember(existing, uid, 'admin', now));
          if (added.length) this.onMembershipChange(room, added, []);
          return { roomId: existing, changed: added.length > 0 };
        }
        const id = this.d.ids.next();
        this.d.rooms.insertRoom({ id, kind: 'direct', name: '', visibility: 'shared', created_at: now });
        this.d.rooms.insertMember(id, actorId, 'admin', now);
        this.d.rooms.insertMember(id, peer, 'admin', now);
        this.d.rooms.insertDirect(actorId, peer, id);
        this.openSegment(id, 0, now);
        return { roomId: id, changed: true };
      });
      if (changed) this.d.events.emit('room-changed', roomId);
      return this.get(actorId, roomId);
    }

    const name = (input.name ?? '').trim();
    if (name.length > 100) fail('validation-failed', 'Room names are at most 100 characters.');
    const id = this.d.ids.next();
    this.tx(() => {
      this.d.rooms.insertRoom({ id, kind: 'group', name, visibility: input.visibility ?? 'joined', created_at: now });
      this.d.rooms.insertMember(id, actorId, 'admin', now);
      for (const uid of others) this.d.rooms.insertMember(id, uid, 'member', now);
      this.openSegment(id, 0, now);
    });
    this.d.events.emit('room-changed', id);
    this.membersLine(id, actorId, 'invited', others);
    return this.get(actorId, id);
  }

  update(actorId: string, roomId: string, input: { name?: string; visibility?: 'joined' | 'shared' }) {
    const { room } = this.d.access.requireAdmin(actorId, roomId);
    if (room.kind === 'direct') fail('direct-room');
    const name = input.name !== undefined ? input.name.trim() : room.name;
    if (name.length > 100) fail('validation-failed', 'Room names are at most 100 characters.');
    const visibility = input.visibility ?? room.visibility;
    this.tx(() => {
      this.d.rooms.update(roomId, name, visibility);
      if (name !== room.name) this.d.audit({ actorId, action: 'room.rename', targetType: 'room', targetId: roomId, roomId, details: { from: room.name, to: name } });
      if (visibility !== room.visibility) this.d.audit({ actorId, action: 'room.visibility', targetType: 'room', targetId: roomId, roomId, details: { from: room.visibility, to: visibility } });
      // becoming `joined`: from now on readers must stay fixed per segment
      if (visibility === 'joined' && room.visibility === 'shared') {
        const open = this.d.rooms.segment(roomId, room.open_segment)!;
        if (open.message_count > 0) this.sealAndOpenNext(roomId, open.n);
        else for (const uid of this.d.rooms.memberIds(roomId)) this.d.rooms.addReader(roomId, open.n, uid);
      }
    });
    this.d.events.emit('room-changed', roomId);
    return this.get(actorId, roomId);
  }

  /** Any member of a group room may invite (as in KakaoTalk); admins manage roles and kicks. */
  invite(actorId: string, roomId: string, userIds: string[]) {
    const { room } = this.d.access.membership(actorId, roomId);
    if (room.kind === 'direct') fail('direct-room');
    for (const id of userIds) if (!this.d.users.byId(id)) fail('not-found', `No user ${id}.`);
    const now = this.d.clock.now();
    const added = this.tx(() => {
      const added = [...new Set(userIds)].filter((uid) => this.d.rooms.insertMember(roomId, uid, 'member', now));
      if (added.length) this.onMembershipChange(this.d.rooms.byId(roomId)!, added, []);
      return added;
    });
    if (added.length) {
      this.d.events.emit('room-changed', roomId);
      this.membersLine(roomId, actorId, 'invited', added);
    }
    return this.get(actorId, roomId);
  }

  /**
   * The timeline line of a group's membership change ("A invited B, C", "B left", "A removed B"),
   * announced after the change committed. `userIds` must still resolve to users (for the names).
   */
  private membersLine(roomId: string, actorId: string, change: 'invited' | 'left' | 'removed', userIds: string[], names?: string[]) {
    if (userIds.length === 0) return;
    const shown = names ?? userIds.map((uid) => this.displayName(uid));
    this.d.events.emit('system-line', roomId, { author: actorId, text: '', system: { type: 'members', change, userIds, names: shown } });
  }

  private displayName(userId: string): string {
    const u = this.d.users.byId(userId);
    return u ? u.display_name || u.username : '';
  }

  kick(actorId: string, roomId: string, userId: string) {
    const { room } = this.d.access.requireAdmin(actorId, roomId);
    if (room.kind === 'direct') fail('direct-room');
    if (userId === actorId) fail('cannot-kick-self');
    const target = this.d.rooms.member(roomId, userId);
    if (!target) fail('not-found');
    if (target!.role === 'admin') fail('cannot-kick-admin');
    this.removeMember(room, userId, () => this.d.audit({ actorId, action: 'room.kick', targetType: 'user', targetId: userId, roomId }), actorId);
  }

  /** Idempotent: leaving a room you are not in succeeds and changes nothing. */
  leave(actorId: string, roomId: string): void {
    const room = this.d.rooms.byId(roomId);
    if (!room || !this.d.rooms.member(roomId, actorId)) return;
    this.removeMember(room, actorId);
  }

  /**
   * Removes a member. A room never ends without an admin: the longest-standing remaining member
   * succeeds the last admin. A room with nobody left is deleted with its documents.
   */
  private removeMember(room: RoomRow, userId: string, audit?: () => void, removedBy?: string) {
    const announce = this.tx(() => {
      audit?.();
      return this.removeMemberInTx(room, userId, removedBy);
    });
    announce();
  }

  /** A server admin removes a room: its members, documents, index rows and (by cascade) files. */
  removeRoom(roomId: string, audit: () => void): void {
    const room = this.d.rooms.byId(roomId);
    if (!room) return fail('not-found');
    const members = this.d.rooms.memberIds(roomId);
    this.tx(() => {
      audit();
      this.d.removeSearchInTx(roomId);
      this.d.rooms.removeRoom(roomId);
      this.d.documents.removeRoomDocs(roomId);
    });
    for (const userId of members) this.d.events.emit('member-removed', roomId, userId);
    this.d.events.emit('room-deleted', roomId);
  }

  /**
   * Removes a member inside the caller's transaction (succession, or the room with its documents
   * when nobody is left); returns what to announce once that transaction has committed.
   */
  private removeMemberInTx(room: RoomRow, userId: string, removedBy?: string): () => void {
    // read before the user row may go (account deletion removes it in the same transaction)
    const name = this.displayName(userId);
    this.d.rooms.removeMember(room.id, userId);
    const remaining = this.d.rooms.memberIds(room.id);
    let deleted = false;
    if (remaining.length === 0) {
      this.d.audit({ actorId: userId, action: 'room.remove', targetType: 'room', targetId: room.id, roomId: room.id, details: { name: room.name, reason: 'last member left' } });
      this.d.removeSearchInTx(room.id);
      this.d.rooms.removeRoom(room.id);
      this.d.documents.removeRoomDocs(room.id);
      deleted = true;
    } else {
      if (this.d.rooms.adminCount(room.id) === 0) {
        const heir = this.d.rooms.oldestMember(room.id)!;
        this.d.rooms.setRole(room.id, heir.user_id, 'admin');
      }
      this.onMembershipChange(room, [], [userId]);
    }
    return () => {
      this.d.events.emit('member-removed', room.id, userId);
      this.d.events.emit(deleted ? 'room-deleted' : 'room-changed', room.id);
      if (!deleted && room.kind === 'group') {
        if (removedBy) this.membersLine(room.id, removedBy, 'removed', [userId], [name]);
        else this.membersLine(room.id, userId, 'left', [userId], [name]);
      }
    };
  }

  setAdmin(actorId: string, roomId: string, userId: string, admin: boolean) {
    const { room } = this.d.access.requireAdmin(actorId, roomId);
    if (room.kind === 'direct') fail('direct-room');
    const target = this.d.rooms.member(roomId, userId);
    if (!target) fail('not-found');
    this.tx(() => {
      if (!admin && target!.role === 'admin' && this.d.rooms.adminCount(roomId) <= 1) fail('last-admin');
      this.d.rooms.setRole(roomId, userId, admin ? 'admin' : 'member');
      if ((target!.role === 'admin') !== admin) this.d.audit({ actorId, action: 'room.role', targetType: 'user', targetId: userId, roomId, details: { admin } });
    });
    this.d.events.emit('room-changed', roomId);
    return this.get(actorId, roomId);
  }

  setPrefs(actorId: string, roomId: string, prefs: { pinned?: boolean; muted?: boolean }) {
    const { member } = this.d.access.membership(actorId, roomId);
    this.d.rooms.setPrefs(roomId, actorId, prefs.pinned ?? member.pinned === 1, prefs.muted ?? member.muted === 1);
    this.d.events.emit('user-changed', actorId);
    return this.get(actorId, roomId);
  }

  roomIdsOf(userId: string): string[] {
    return this.d.rooms.roomsOfUser(userId);
  }

  memberIdsOf(roomId: string): string[] {
    return this.d.rooms.memberIds(roomId);
  }

  /**
   * Account deletion: leave every room with succession, inside the caller's transaction; returns
   * what to announce after it has committed.
   */
  removeUserEverywhereInTx(userId: string): (() => void)[] {
    const announce: (() => void)[] = [];
    for (const roomId of this.d.rooms.roomsOfUser(userId)) {
      const room = this.d.rooms.byId(roomId);
      if (room) announce.push(this.removeMemberInTx(room, userId));
    }
    return announce;
  }
}
