/** Room rules and the segment lifecycle, on the real services over in-memory SQLite with a fake clock. */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeDomain, makeRoom, makeUser, postMessages, type Domain } from '../helpers/domain.ts';
import { DomainError } from '../../server/domain/errors.ts';

let d: Domain;
beforeEach(() => {
  d = makeDomain({ segmentMaxMessages: 5 });
});

/** Runs `fn` and returns the domain error code it throws (fails the test when it does not throw one). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

const roleOf = (roomId: string, viewerId: string, userId: string) => d.rooms.get(viewerId, roomId).members.find((m) => m.id === userId)?.role;
const canRead = (userId: string, roomId: string, n: number) => {
  try {
    d.access.document(userId, `room:${roomId}:${n}`);
    return true;
  } catch (e) {
    expect((e as DomainError).code).toBe('not-found');
    return false;
  }
};
const segmentsOf = (roomId: string) => d.repos.rooms.segments(roomId);

describe('1:1 rooms', () => {
  it('are created once per pair and reused from either side', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const first = d.rooms.create(alice.id, { memberIds: [bob.id] });
    expect(first.kind).toBe('direct');
    expect(first.members.map((m) => m.id).sort()).toEqual([alice.id, bob.id].sort());
    expect(d.rooms.create(alice.id, { memberIds: [bob.id] }).id).toBe(first.id);
    expect(d.rooms.create(bob.id, { memberIds: [alice.id, bob.id] }).id).toBe(first.id);
    expect(d.rooms.list(alice.id)).toHaveLength(1);
  });

  it('take back a member who left, in the same room with its history readable', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = d.rooms.create(alice.id, { memberIds: [bob.id] });
    postMessages(d, room.id, 2);
    d.rooms.leave(bob.id, room.id);
    expect(codeOf(() => d.rooms.get(bob.id, room.id))).toBe('not-found');
    expect(d.rooms.get(alice.id, room.id).members.map((m) => m.id)).toEqual([alice.id]);

    const again = d.rooms.create(alice.id, { memberIds: [bob.id] });
    expect(again.id).toBe(room.id);
    expect(d.rooms.get(bob.id, room.id).members).toHaveLength(2);
    expect(canRead(bob.id, room.id, 0)).toBe(true);
  });

  it('differ per pair', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const ab = d.rooms.create(alice.id, { memberIds: [bob.id] });
    const ac = d.rooms.create(alice.id, { memberIds: [carol.id] });
    expect(ac.id).not.toBe(ab.id);
    expect(codeOf(() => d.rooms.get(carol.id, ab.id))).toBe('not-found');
  });

  it('are removed when both sides left, and a later chat starts a new room', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = d.rooms.create(alice.id, { memberIds: [bob.id] });
    d.rooms.leave(alice.id, room.id);
    d.rooms.leave(bob.id, room.id);
    expect(d.repos.rooms.byId(room.id)).toBeUndefined();
    const fresh = d.rooms.create(bob.id, { memberIds: [alice.id] });
    expect(fresh.id).not.toBe(room.id);
    expect(fresh.members).toHaveLength(2);
  });

  it('cannot be invited into, renamed, or have roles and kicks (direct-room)', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = d.rooms.create(alice.id, { memberIds: [bob.id] });
    expect(codeOf(() => d.rooms.invite(alice.id, room.id, [carol.id]))).toBe('direct-room');
    expect(codeOf(() => d.rooms.update(alice.id, room.id, { name: 'x' }))).toBe('direct-room');
    expect(codeOf(() => d.rooms.kick(alice.id, room.id, bob.id))).toBe('direct-room');
    expect(codeOf(() => d.rooms.setAdmin(alice.id, room.id, bob.id, false))).toBe('direct-room');
    expect(d.rooms.get(alice.id, room.id).members).toHaveLength(2);
  });
});

describe('group rooms', () => {
  it('start with the creator as the only admin, the others as members, and history visibility `joined`', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = d.rooms.create(alice.id, { name: '  Team  ', memberIds: [bob.id, carol.id, bob.id] });
    expect(room).toMatchObject({ kind: 'group', name: 'Team', visibility: 'joined', role: 'admin', openSegment: 0, segments: [0] });
    expect(Object.fromEntries(room.members.map((m) => [m.id, m.role]))).toEqual({ [alice.id]: 'admin', [bob.id]: 'member', [carol.id]: 'member' });
    for (const u of [alice, bob, carol]) expect(canRead(u.id, room.id, 0)).toBe(true);
  });

  it('with a name and one other member is a group, not the 1:1 room', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const direct = d.rooms.create(alice.id, { memberIds: [bob.id] });
    const group = d.rooms.create(alice.id, { name: 'pair project', memberIds: [bob.id] });
    expect(group.kind).toBe('group');
    expect(group.id).not.toBe(direct.id);
  });

  it('need another existing member', () => {
    const alice = makeUser(d);
    expect(codeOf(() => d.rooms.create(alice.id, { name: 'alone', memberIds: [alice.id] }))).toBe('validation-failed');
    expect(codeOf(() => d.rooms.create(alice.id, { name: 'ghost', memberIds: ['nobody123'] }))).toBe('not-found');
    expect(codeOf(() => d.rooms.create(alice.id, { name: 'x'.repeat(101), memberIds: [makeUser(d).id] }))).toBe('validation-failed');
    expect(d.rooms.list(alice.id)).toEqual([]);
  });

  it('let any member invite, and answer outsiders as if the room did not exist', () => {
    const [alice, bob, carol, dave] = [makeUser(d), makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    const after = d.rooms.invite(bob.id, room.id, [carol.id]);
    expect(after.members.find((m) => m.id === carol.id)?.role).toBe('member');
    expect(codeOf(() => d.rooms.invite(dave.id, room.id, [dave.id]))).toBe('not-found');
    expect(codeOf(() => d.rooms.invite(dave.id, 'doesnotexist', [dave.id]))).toBe('not-found');
    expect(codeOf(() => d.rooms.invite(alice.id, room.id, ['nobody123']))).toBe('not-found');
  });

  it('do not change when an existing member is invited again', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    postMessages(d, room.id, 1);
    d.events.length = 0;
    const after = d.rooms.invite(alice.id, room.id, [bob.id, alice.id]);
    expect(after.members).toHaveLength(2);
    expect(after.openSegment).toBe(0);
    expect(d.events).toEqual([]);
  });

  it('can be left any number of times, also rooms one is not in or that do not exist', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob, carol]);
    d.rooms.leave(bob.id, room.id);
    d.rooms.leave(bob.id, room.id);
    d.rooms.leave(bob.id, 'doesnotexist');
    expect(d.rooms.get(alice.id, room.id).members.map((m) => m.id)).toEqual([alice.id, carol.id]);
    expect(d.events.filter((e) => e.name === 'member-removed')).toEqual([{ name: 'member-removed', args: [room.id, bob.id] }]);
  });

  it('are renamed and have their visibility changed by admins only', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    expect(codeOf(() => d.rooms.update(bob.id, room.id, { name: 'mine now' }))).toBe('not-admin');
    expect(codeOf(() => d.rooms.update(alice.id, room.id, { name: 'x'.repeat(101) }))).toBe('validation-failed');
    expect(d.rooms.update(alice.id, room.id, { name: ' Renamed ' }).name).toBe('Renamed');
    expect(d.rooms.update(alice.id, room.id, { visibility: 'shared' })).toMatchObject({ name: 'Renamed', visibility: 'shared' });
    expect(d.rooms.get(bob.id, room.id)).toMatchObject({ name: 'Renamed', visibility: 'shared' });
  });
});

describe('kicking', () => {
  it('is for admins only (not-admin)', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob, carol]);
    expect(codeOf(() => d.rooms.kick(bob.id, room.id, carol.id))).toBe('not-admin');
    expect(d.rooms.get(alice.id, room.id).members).toHaveLength(3);
  });

  it('never removes another admin (cannot-kick-admin) nor oneself (cannot-kick-self)', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob, carol]);
    d.rooms.setAdmin(alice.id, room.id, bob.id, true);
    expect(codeOf(() => d.rooms.kick(alice.id, room.id, bob.id))).toBe('cannot-kick-admin');
    expect(codeOf(() => d.rooms.kick(bob.id, room.id, alice.id))).toBe('cannot-kick-admin');
    expect(codeOf(() => d.rooms.kick(alice.id, room.id, alice.id))).toBe('cannot-kick-self');
    expect(d.rooms.get(alice.id, room.id).members).toHaveLength(3);
  });

  it('removes a member, who then cannot see the room, and tells the collaboration layer', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob, carol]);
    d.events.length = 0;
    d.rooms.kick(alice.id, room.id, bob.id);
    expect(codeOf(() => d.rooms.get(bob.id, room.id))).toBe('not-found');
    expect(codeOf(() => d.access.document(bob.id, `room:${room.id}`))).toBe('not-found');
    expect(d.rooms.list(bob.id)).toEqual([]);
    expect(d.events.map((e) => e.name)).toEqual(['member-removed', 'room-changed']);
    expect(d.events[0].args).toEqual([room.id, bob.id]);
  });

  it('of a non-member is not-found', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    expect(codeOf(() => d.rooms.kick(alice.id, room.id, carol.id))).toBe('not-found');
  });
});

describe('admin roles', () => {
  it('are granted and taken by admins only', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob, carol]);
    expect(codeOf(() => d.rooms.setAdmin(bob.id, room.id, bob.id, true))).toBe('not-admin');
    d.rooms.setAdmin(alice.id, room.id, bob.id, true);
    expect(roleOf(room.id, alice.id, bob.id)).toBe('admin');
    d.rooms.setAdmin(bob.id, room.id, alice.id, false);
    expect(roleOf(room.id, bob.id, alice.id)).toBe('member');
    expect(codeOf(() => d.rooms.setAdmin(alice.id, room.id, carol.id, true))).toBe('not-admin');
  });

  it('never drop below one admin (last-admin)', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    expect(codeOf(() => d.rooms.setAdmin(alice.id, room.id, alice.id, false))).toBe('last-admin');
    expect(roleOf(room.id, alice.id, alice.id)).toBe('admin');
    // demoting a plain member is harmless
    d.rooms.setAdmin(alice.id, room.id, bob.id, false);
    expect(roleOf(room.id, alice.id, bob.id)).toBe('member');
  });

  it('pass to the longest-standing member when the last admin leaves', () => {
    const [alice, bob, carol, dave] = [makeUser(d), makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [carol]);
    d.rooms.invite(alice.id, room.id, [bob.id]); // bob joins later than carol although he registered first
    d.clock.advance(10);
    d.rooms.invite(alice.id, room.id, [dave.id]);
    d.rooms.leave(alice.id, room.id);
    expect(roleOf(room.id, carol.id, carol.id)).toBe('admin');
    expect(roleOf(room.id, carol.id, bob.id)).toBe('member');
    expect(roleOf(room.id, carol.id, dave.id)).toBe('member');
  });

  it('stay as they are when an admin leaves but another admin remains', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob, carol]);
    d.rooms.setAdmin(alice.id, room.id, carol.id, true);
    d.rooms.leave(alice.id, room.id);
    expect(roleOf(room.id, bob.id, bob.id)).toBe('member');
    expect(roleOf(room.id, bob.id, carol.id)).toBe('admin');
  });

  it('end with the room: the last one out removes it', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    postMessages(d, room.id, 2);
    d.rooms.leave(alice.id, room.id);
    d.events.length = 0;
    d.rooms.leave(bob.id, room.id);
    expect(d.repos.rooms.byId(room.id)).toBeUndefined();
    expect(segmentsOf(room.id)).toEqual([]);
    expect(d.events.map((e) => e.name)).toEqual(['member-removed', 'room-deleted']);
  });
});

describe('per-user preferences and the room list', () => {
  it('pin and mute for one user only', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    expect(d.rooms.setPrefs(bob.id, room.id, { pinned: true })).toMatchObject({ pinned: true, muted: false });
    expect(d.rooms.setPrefs(bob.id, room.id, { muted: true })).toMatchObject({ pinned: true, muted: true });
    expect(d.rooms.get(alice.id, room.id)).toMatchObject({ pinned: false, muted: false });
    expect(codeOf(() => d.rooms.setPrefs(makeUser(d).id, room.id, { pinned: true }))).toBe('not-found');
  });

  it('lists pinned rooms first, then by last activity', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const r1 = makeRoom(d, alice, [bob], { name: 'one' });
    const r2 = makeRoom(d, alice, [bob], { name: 'two' });
    const r3 = makeRoom(d, alice, [bob], { name: 'three' });
    const names = (userId: string) => d.rooms.list(userId).map((r) => r.name);
    expect(names(alice.id)).toEqual(['three', 'two', 'one']);
    postMessages(d, r1.id);
    expect(names(alice.id)).toEqual(['one', 'three', 'two']);
    d.rooms.setPrefs(alice.id, r2.id, { pinned: true });
    expect(names(alice.id)).toEqual(['two', 'one', 'three']);
    postMessages(d, r3.id);
    expect(names(alice.id)).toEqual(['two', 'three', 'one']);
    expect(names(bob.id)).toEqual(['three', 'one', 'two']);
  });

  it('show the peer of a 1:1 room', () => {
    const [alice, bob] = [makeUser(d, 'alice_x'), makeUser(d, 'bob_x')];
    d.rooms.create(alice.id, { memberIds: [bob.id] });
    expect(d.rooms.list(alice.id)[0].peer).toEqual({ id: bob.id, username: 'bob_x', displayName: 'bob_x' });
  });
});

describe('segments in a `joined` room', () => {
  it('seal when membership changes after messages exist; the new segment is read by the current members', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    postMessages(d, room.id, 2);
    const after = d.rooms.invite(alice.id, room.id, [carol.id]);
    expect(after.openSegment).toBe(1);
    const [s0, s1] = segmentsOf(room.id);
    expect(s0.sealed_at).not.toBeNull();
    expect(s1.sealed_at).toBeNull();

    expect(canRead(carol.id, room.id, 0)).toBe(false);
    expect(canRead(carol.id, room.id, 1)).toBe(true);
    expect(d.access.readableSegments(carol.id, room.id)).toEqual([1]);
    expect(d.rooms.get(carol.id, room.id).segments).toEqual([1]);
    for (const u of [alice, bob]) expect(d.access.readableSegments(u.id, room.id)).toEqual([0, 1]);
  });

  it('keep a departed member out of segments opened after they left, even when they come back', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob, carol]);
    postMessages(d, room.id, 1);
    d.rooms.kick(alice.id, room.id, bob.id);
    expect(d.rooms.openSegmentOf(room.id)).toBe(1);
    postMessages(d, room.id, 1);
    d.rooms.invite(carol.id, room.id, [bob.id]);
    expect(d.rooms.openSegmentOf(room.id)).toBe(2);
    expect(d.access.readableSegments(bob.id, room.id)).toEqual([0, 2]);
    expect(canRead(bob.id, room.id, 1)).toBe(false);
  });

  it('adjust the readers of an open segment that has no messages yet instead of sealing it', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    d.rooms.invite(alice.id, room.id, [carol.id]);
    d.rooms.kick(alice.id, room.id, bob.id);
    expect(segmentsOf(room.id)).toHaveLength(1);
    expect(segmentsOf(room.id)[0].sealed_at).toBeNull();
    expect(canRead(carol.id, room.id, 0)).toBe(true);
    d.rooms.invite(alice.id, room.id, [bob.id]);
    expect(canRead(bob.id, room.id, 0)).toBe(true);
    d.rooms.leave(bob.id, room.id);
    expect(d.repos.rooms.isReader(room.id, 0, bob.id)).toBe(false);
  });

  it('seal the open segment when a `shared` room becomes `joined`', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob], { visibility: 'shared' });
    postMessages(d, room.id, 1);
    expect(d.rooms.update(alice.id, room.id, { visibility: 'joined' }).openSegment).toBe(1);
  });

  it('refuse segments that do not exist and names that are not documents', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    expect(canRead(alice.id, room.id, 1)).toBe(false);
    for (const name of ['room:', 'room:short', `room:${room.id}:01`, `room:${room.id}:-1`, `room:${room.id}:0:0`, 'other:thing']) {
      expect(codeOf(() => d.access.document(alice.id, name))).toBe('not-found');
    }
  });

  it('give the head document read-only to every member', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    expect(d.access.document(bob.id, `room:${room.id}`)).toEqual({ roomId: room.id, segment: null, readOnly: true, role: 'member' });
    expect(d.access.document(alice.id, `room:${room.id}:0`)).toEqual({ roomId: room.id, segment: 0, readOnly: false, role: 'admin' });
  });
});

describe('segments in a `shared` room', () => {
  it('stay open on membership changes and let every member read all of them', () => {
    const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob], { visibility: 'shared' });
    postMessages(d, room.id, 5); // the bound: seals 0, opens 1
    postMessages(d, room.id, 2);
    d.rooms.invite(alice.id, room.id, [carol.id]);
    expect(d.rooms.openSegmentOf(room.id)).toBe(1);
    expect(canRead(carol.id, room.id, 0)).toBe(true);
    expect(canRead(carol.id, room.id, 1)).toBe(true);
    expect(d.access.readableSegments(carol.id, room.id)).toEqual([0, 1]);
  });

  it('keep a kicked member out entirely', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob], { visibility: 'shared' });
    d.rooms.kick(alice.id, room.id, bob.id);
    expect(canRead(bob.id, room.id, 0)).toBe(false);
  });
});

describe('reserveMessage', () => {
  it('numbers messages room-wide and seals the segment at its message bound', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    const receipts = Array.from({ length: 5 }, (_, i) => d.rooms.reserveMessage(room.id, 0, `m${i}`, alice.id, 10));
    expect(receipts.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(receipts.map((r) => r.sealed)).toEqual([false, false, false, false, true]);
    expect(d.rooms.openSegmentOf(room.id)).toBe(1);
    expect(d.rooms.segment(room.id, 0)).toMatchObject({ message_count: 5, bytes: 50 });
    expect(d.rooms.segment(room.id, 0)!.sealed_at).not.toBeNull();
    const next = d.rooms.reserveMessage(room.id, 1, 'm5', alice.id, 10);
    expect(next).toMatchObject({ seq: 6, sealed: false });
    expect(d.access.readableSegments(bob.id, room.id)).toEqual([0, 1]);
  });

  it('seals at the byte bound too', () => {
    d = makeDomain({ segmentMaxBytes: 1000 });
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    expect(d.rooms.reserveMessage(room.id, 0, 'a', alice.id, 600).sealed).toBe(false);
    expect(d.rooms.reserveMessage(room.id, 0, 'b', alice.id, 600).sealed).toBe(true);
    expect(d.rooms.openSegmentOf(room.id)).toBe(1);
  });

  it('stamps the server time and moves the room up in the list', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    d.clock.advance(60_000);
    const r = d.rooms.reserveMessage(room.id, 0, 'm', alice.id, 10);
    expect(r.at).toBe(d.clock.now());
    expect(d.rooms.list(alice.id)[0].lastActivityAt).toBe(d.clock.now());
    expect(d.rooms.segment(room.id, 0)).toMatchObject({ first_at: r.at, last_at: r.at });
  });

  it('is idempotent: the same message id gets the same seq, whoever asks and how often', () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    const first = d.rooms.reserveMessage(room.id, 0, 'same', alice.id, 10);
    d.rooms.reserveMessage(room.id, 0, 'other', bob.id, 10);
    const again = d.rooms.reserveMessage(room.id, 0, 'same', alice.id, 10);
    expect(first.fresh).toBe(true);
    expect(again).toMatchObject({ seq: first.seq, at: first.at, segment: 0, fresh: false });
    expect(d.rooms.segment(room.id, 0)!.message_count).toBe(2);
  });

  it('places a message written into a sealed segment in the open one, with its seq taken at arrival', () => {
    d = makeDomain({ segmentMaxMessages: 2 });
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const room = makeRoom(d, alice, [bob]);
    d.rooms.reserveMessage(room.id, 0, 'a', alice.id, 10);
    expect(d.rooms.reserveMessage(room.id, 0, 'b', alice.id, 10).sealed).toBe(true);
    const late = d.rooms.reserveMessage(room.id, 0, 'c', bob.id, 10); // offline writer, still on segment 0
    expect(late).toMatchObject({ seq: 3, segment: 1, fresh: true });
    expect(d.rooms.messageSegment(room.id, 'c')).toBe(1);
  });
});
