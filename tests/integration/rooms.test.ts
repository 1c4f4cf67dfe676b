/**
 * The room API end to end, and what a membership change does to live /collab connections:
 * a kicked or departed member's documents of that room close at once, the rest of the socket goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, waitFor, sleep, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked } from '../helpers/collab.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const rolesOf = (room: { members: { id: string; role: string }[] }) => Object.fromEntries(room.members.map((m) => [m.id, m.role]));
const ids = (rooms: { id: string }[]) => rooms.map((r) => r.id);

describe('creating rooms', () => {
  it('two members make the 1:1 room, the same one from either side', async () => {
    const [alice, bob] = [await makeUser(server), await makeUser(server)];
    const first = await alice.api('POST', '/api/rooms', { memberIds: [bob.id] });
    expect(first.status).toBe(201);
    expect(first.body.room).toMatchObject({ kind: 'direct', role: 'admin' });
    const again = await alice.api('POST', '/api/rooms', { memberIds: [bob.id] });
    const fromBob = await bob.api('POST', '/api/rooms', { memberIds: [alice.id] });
    expect(again.body.room.id).toBe(first.body.room.id);
    expect(fromBob.body.room.id).toBe(first.body.room.id);
    const list = (await bob.api('GET', '/api/rooms')).body.rooms;
    expect(list).toHaveLength(1);
    expect(list[0].peer).toMatchObject({ id: alice.id, username: alice.username });
  });

  it('a 1:1 room takes back the one who left', async () => {
    const [alice, bob] = [await makeUser(server), await makeUser(server)];
    const room = (await alice.api('POST', '/api/rooms', { memberIds: [bob.id] })).body.room;
    expect((await bob.api('POST', `/api/rooms/${room.id}/leave`)).status).toBe(204);
    expect((await bob.api('GET', '/api/rooms')).body.rooms).toEqual([]);
    const back = await alice.api('POST', '/api/rooms', { memberIds: [bob.id] });
    expect(back.body.room.id).toBe(room.id);
    expect(ids((await bob.api('GET', '/api/rooms')).body.rooms)).toEqual([room.id]);
  });

  it('a group room has the creator as admin and the others as members', async () => {
    const [alice, bob, carol] = [await makeUser(server), await makeUser(server), await makeUser(server)];
    const r = await alice.api('POST', '/api/rooms', { name: '프로젝트', memberIds: [bob.id, carol.id], visibility: 'shared' });
    expect(r.status).toBe(201);
    expect(r.body.room).toMatchObject({ kind: 'group', name: '프로젝트', visibility: 'shared', openSegment: 0, segments: [0] });
    expect(rolesOf(r.body.room)).toEqual({ [alice.id]: 'admin', [bob.id]: 'member', [carol.id]: 'member' });
    const seen = await carol.api('GET', `/api/rooms/${r.body.room.id}`);
    expect(seen.body.room).toMatchObject({ id: r.body.room.id, role: 'member', name: '프로젝트' });
  });

  it('refuses unknown members (404), no other member (400) and bad fields (400)', async () => {
    const alice = await makeUser(server);
    const cases: [unknown, number, string][] = [
      [{ name: 'x', memberIds: ['nobody_here'] }, 404, 'not-found'],
      [{ name: 'x', memberIds: [alice.id] }, 400, 'validation-failed'],
      [{ name: 'x', memberIds: [] }, 400, 'validation-failed'],
      [{ name: 'x', memberIds: [alice.id], visibility: 'public' }, 400, 'validation-failed'],
      [{ name: 'x', memberIds: [alice.id], owner: alice.id }, 400, 'validation-failed'],
    ];
    for (const [body, status, code] of cases) {
      const r = await alice.api('POST', '/api/rooms', body);
      expect([r.status, r.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect((await alice.api('GET', '/api/rooms')).body.rooms).toEqual([]);
  });
});

describe('managing a group room', () => {
  let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;
  let roomId: string;
  beforeAll(async () => {
    [alice, bob, carol, dave] = await Promise.all([makeUser(server), makeUser(server), makeUser(server), makeUser(server)]);
    roomId = (await makeRoom(alice, [bob])).id;
  });

  it('any member invites', async () => {
    const r = await bob.api('POST', `/api/rooms/${roomId}/members`, { userIds: [carol.id] });
    expect(r.status).toBe(200);
    expect(rolesOf(r.body.room)[carol.id]).toBe('member');
    expect(ids((await carol.api('GET', '/api/rooms')).body.rooms)).toContain(roomId);
  });

  it('only admins rename (403 not-admin)', async () => {
    const refused = await bob.api('PATCH', `/api/rooms/${roomId}`, { name: 'bob was here' });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'not-admin']);
    const ok = await alice.api('PATCH', `/api/rooms/${roomId}`, { name: '  새 이름  ' });
    expect(ok.status).toBe(200);
    expect(ok.body.room.name).toBe('새 이름');
    expect((await bob.api('GET', `/api/rooms/${roomId}`)).body.room.name).toBe('새 이름');
  });

  it('only admins promote, and a room never drops below one admin (409 last-admin)', async () => {
    const refused = await bob.api('PUT', `/api/rooms/${roomId}/admins/${bob.id}`, { admin: true });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'not-admin']);
    const last = await alice.api('PUT', `/api/rooms/${roomId}/admins/${alice.id}`, { admin: false });
    expect([last.status, last.body.error.code]).toEqual([409, 'last-admin']);
    const promoted = await alice.api('PUT', `/api/rooms/${roomId}/admins/${carol.id}`, { admin: true });
    expect(rolesOf(promoted.body.room)[carol.id]).toBe('admin');
    const demoted = await carol.api('PUT', `/api/rooms/${roomId}/admins/${carol.id}`, { admin: false });
    expect(rolesOf(demoted.body.room)[carol.id]).toBe('member');
  });

  it('kicks follow the rules: admins only, never an admin, never oneself', async () => {
    await alice.api('POST', `/api/rooms/${roomId}/members`, { userIds: [dave.id] });
    await alice.api('PUT', `/api/rooms/${roomId}/admins/${carol.id}`, { admin: true });
    const cases: [TestUser, TestUser, number, string][] = [
      [bob, dave, 403, 'not-admin'],
      [alice, carol, 409, 'cannot-kick-admin'],
      [carol, alice, 409, 'cannot-kick-admin'],
      [alice, alice, 409, 'cannot-kick-self'],
    ];
    for (const [actor, target, status, code] of cases) {
      const r = await actor.api('DELETE', `/api/rooms/${roomId}/members/${target.id}`);
      expect([r.status, r.body.error.code]).toEqual([status, code]);
    }
    const kicked = await carol.api('DELETE', `/api/rooms/${roomId}/members/${dave.id}`);
    expect(kicked.status).toBe(204);
    expect((await dave.api('GET', `/api/rooms/${roomId}`)).status).toBe(404);
    expect(Object.keys(rolesOf((await alice.api('GET', `/api/rooms/${roomId}`)).body.room))).not.toContain(dave.id);
  });

  it('leaving is idempotent, and the last admin leaving hands over to the longest-standing member', async () => {
    await alice.api('PUT', `/api/rooms/${roomId}/admins/${carol.id}`, { admin: false });
    for (let i = 0; i < 2; i++) expect((await alice.api('POST', `/api/rooms/${roomId}/leave`)).status).toBe(204);
    const room = (await bob.api('GET', `/api/rooms/${roomId}`)).body.room;
    expect(rolesOf(room)).toEqual({ [bob.id]: 'admin', [carol.id]: 'member' });
  });

  it('pins and mutes per user; pinned rooms come first', async () => {
    const other = await makeRoom(bob, [carol], { name: 'newer' });
    expect(ids((await bob.api('GET', '/api/rooms')).body.rooms)).toEqual([other.id, roomId]);
    const r = await bob.api('PUT', `/api/rooms/${roomId}/prefs`, { pinned: true, muted: true });
    expect(r.body.room).toMatchObject({ pinned: true, muted: true });
    expect(ids((await bob.api('GET', '/api/rooms')).body.rooms)).toEqual([roomId, other.id]);
    expect((await carol.api('GET', `/api/rooms/${roomId}`)).body.room).toMatchObject({ pinned: false, muted: false });
  });

  it('a room everyone left is gone', async () => {
    await bob.api('POST', `/api/rooms/${roomId}/leave`);
    await carol.api('POST', `/api/rooms/${roomId}/leave`);
    for (const u of [alice, bob, carol]) expect((await u.api('GET', `/api/rooms/${roomId}`)).status).toBe(404);
    const rejoin = await alice.api('POST', `/api/rooms/${roomId}/members`, { userIds: [alice.id] });
    expect(rejoin.status).toBe(404);
  });
});

describe('a room one is not in', () => {
  it('answers exactly like a room that does not exist', async () => {
    const [alice, bob, mallory] = [await makeUser(server), await makeUser(server), await makeUser(server)];
    const room = await makeRoom(alice, [bob]);
    const probes: [string, string, unknown?][] = [
      ['GET', ''],
      ['PATCH', '', { name: 'mine' }],
      ['POST', '/members', { userIds: [mallory.id] }],
      ['DELETE', `/members/${bob.id}`],
      ['PUT', `/admins/${mallory.id}`, { admin: true }],
      ['PUT', '/prefs', { pinned: true }],
    ];
    for (const [method, suffix, body] of probes) {
      const real = await mallory.api(method, `/api/rooms/${room.id}${suffix}`, body);
      const fake = await mallory.api(method, `/api/rooms/nosuchroom1${suffix}`, body);
      expect(real.status, `${method} ${suffix}`).toBe(404);
      expect(real.body).toEqual({ error: { code: 'not-found', message: expect.any(String) } });
      expect(real).toEqual(fake);
    }
    expect((await alice.api('GET', `/api/rooms/${room.id}`)).body.room.members).toHaveLength(2);
    expect((await mallory.api('POST', `/api/rooms/${room.id}/leave`)).status).toBe(204);
  });
});

describe('live connections after a membership change', () => {
  it("close a kicked member's documents of that room at once, refuse them afterwards, and leave the other rooms working on the same socket", async () => {
    const [alice, bob] = [await makeUser(server), await makeUser(server)];
    const room = await makeRoom(alice, [bob]);
    const other = await makeRoom(alice, [bob], { name: 'other' });

    const aliceSocket = connectSocket(server.wsUrl);
    const aliceSeg = await openDoc(aliceSocket, `room:${room.id}:0`, alice.token);
    const aliceOther = await openDoc(aliceSocket, `room:${other.id}:0`, alice.token);
    const socket = connectSocket(server.wsUrl);
    const seg = await openDoc(socket, `room:${room.id}:0`, bob.token);
    const head = await openDoc(socket, `room:${room.id}`, bob.token);
    const otherSeg = await openDoc(socket, `room:${other.id}:0`, bob.token);

    const kickedAt = Date.now();
    expect((await alice.api('DELETE', `/api/rooms/${room.id}/members/${bob.id}`)).status).toBe(204);
    await waitFor(() => seg.closes.includes('not-a-member') && head.closes.includes('not-a-member'), { timeout: 1000, message: 'both documents to close' });
    expect(Date.now() - kickedAt).toBeLessThan(1000);
    expect(otherSeg.closes).toEqual([]);

    // what alice writes now never reaches bob
    const secret = post(aliceSeg.doc, alice.id, 'after bob left');
    await acked(aliceSeg.provider);

    // reopening on the same socket is refused like a room that does not exist
    seg.provider.destroy();
    head.provider.destroy();
    const again = await openDoc(socket, `room:${room.id}:0`, bob.token);
    const againHead = await openDoc(socket, `room:${room.id}`, bob.token);
    expect(again.denied).toEqual(['not-found']);
    expect(againHead.denied).toEqual(['not-found']);
    expect(messagesOf(again.doc).has(secret)).toBe(false);
    expect(messagesOf(seg.doc).has(secret)).toBe(false);

    // the other room is untouched, both ways
    const fromBob = post(otherSeg.doc, bob.id, 'still in the other room');
    await acked(otherSeg.provider);
    await waitFor(() => messagesOf(aliceOther.doc).has(fromBob), { message: 'alice to receive bob’s message' });
    const fromAlice = post(aliceOther.doc, alice.id, 'hello again');
    await waitFor(() => messagesOf(otherSeg.doc).has(fromAlice), { message: 'bob to receive alice’s message' });
    expect(otherSeg.provider.isSynced).toBe(true);

    socket.destroy();
    aliceSocket.destroy();
  });

  it("close a departed member's documents the same way", async () => {
    const [alice, carol] = [await makeUser(server), await makeUser(server)];
    const room = await makeRoom(alice, [carol]);
    const socket = connectSocket(server.wsUrl);
    const seg = await openDoc(socket, `room:${room.id}:0`, carol.token);
    const head = await openDoc(socket, `room:${room.id}`, carol.token);

    expect((await carol.api('POST', `/api/rooms/${room.id}/leave`)).status).toBe(204);
    await waitFor(() => seg.closes.includes('not-a-member') && head.closes.includes('not-a-member'), { timeout: 1000, message: 'both documents to close' });
    seg.provider.destroy();
    const again = await openDoc(socket, `room:${room.id}:0`, carol.token);
    expect(again.denied).toEqual(['not-found']);
    socket.destroy();
  });

  it('do not close the documents of members who stay', async () => {
    const [alice, bob, carol] = [await makeUser(server), await makeUser(server), await makeUser(server)];
    const room = await makeRoom(alice, [bob, carol]);
    const socket = connectSocket(server.wsUrl);
    const stay = await openDoc(socket, `room:${room.id}:0`, bob.token);
    await alice.api('DELETE', `/api/rooms/${room.id}/members/${carol.id}`);
    await sleep(200);
    expect(stay.closes).toEqual([]);
    expect(stay.provider.isSynced).toBe(true);
    socket.destroy();
  });
});

describe('history visibility over /collab', () => {
  it('a member invited into a `joined` room after messages cannot open the older segment', async () => {
    const [alice, bob, carol] = [await makeUser(server), await makeUser(server), await makeUser(server)];
    const room = await makeRoom(alice, [bob]);
    const socket = connectSocket(server.wsUrl);
    const seg0 = await openDoc(socket, `room:${room.id}:0`, alice.token);
    const before = post(seg0.doc, alice.id, 'before carol');
    await waitFor(() => receiptsOf(seg0.doc).has(before), { message: 'the receipt' });

    const invited = await alice.api('POST', `/api/rooms/${room.id}/members`, { userIds: [carol.id] });
    expect(invited.body.room.openSegment).toBe(1);
    expect((await carol.api('GET', `/api/rooms/${room.id}`)).body.room.segments).toEqual([1]);
    const carolSocket = connectSocket(server.wsUrl);
    const old = await openDoc(carolSocket, `room:${room.id}:0`, carol.token);
    expect(old.denied).toEqual(['not-found']);
    const current = await openDoc(carolSocket, `room:${room.id}:1`, carol.token);
    expect(current.provider.isSynced).toBe(true);
    socket.destroy();
    carolSocket.destroy();
  });
});
