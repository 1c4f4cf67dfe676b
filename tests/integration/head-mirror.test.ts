/**
 * The head document `room:<id>` mirrors the room's SQLite truth to connected members and is
 * written by the server only: a client's write closes that document with `read-only`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, sleep, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, receiptsOf, type OpenDoc } from '../helpers/collab.ts';
import { HEAD_MEMBERS, HEAD_ROOM, HEAD_SEGMENTS, type Member, type SegmentInfo } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const meta = (doc: Y.Doc) => doc.getMap(HEAD_ROOM).toJSON() as { id: string; name: string; kind: string; visibility: string; openSegment: number };
const members = (doc: Y.Doc) => doc.getMap<Member>(HEAD_MEMBERS).toJSON() as Record<string, Member>;
const segments = (doc: Y.Doc) => doc.getMap<SegmentInfo>(HEAD_SEGMENTS).toJSON() as Record<string, SegmentInfo>;
const roles = (doc: Y.Doc) => Object.fromEntries(Object.entries(members(doc)).map(([id, m]) => [id, m.role]));

describe('a member connected to the head document', () => {
  let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;
  let roomId: string;
  let sockets: ReturnType<typeof connectSocket>[];
  let head: OpenDoc;

  beforeAll(async () => {
    [alice, bob, carol, dave] = await Promise.all([makeUser(server), makeUser(server), makeUser(server), makeUser(server)]);
    roomId = (await makeRoom(alice, [bob], { name: 'first name' })).id;
    sockets = [connectSocket(server.wsUrl), connectSocket(server.wsUrl)];
    head = await openDoc(sockets[0], `room:${roomId}`, bob.token);
  });
  afterAll(() => sockets.forEach((s) => s.destroy()));

  it('sees the room as it is on opening', () => {
    expect(meta(head.doc)).toMatchObject({ id: roomId, name: 'first name', kind: 'group', visibility: 'joined', openSegment: 0 });
    expect(roles(head.doc)).toEqual({ [alice.id]: 'admin', [bob.id]: 'member' });
    expect(members(head.doc)[bob.id]).toMatchObject({ username: bob.username, displayName: bob.username, joinedAt: expect.any(Number) });
    expect(segments(head.doc)).toEqual({ '0': { n: 0, openedAt: expect.any(Number), sealedAt: null } });
  });

  it('sees a rename and a visibility change', async () => {
    await alice.api('PATCH', `/api/rooms/${roomId}`, { name: '새 이름', visibility: 'shared' });
    await waitFor(() => meta(head.doc).name === '새 이름' && meta(head.doc).visibility === 'shared', { message: 'the rename in the head' });
    await alice.api('PATCH', `/api/rooms/${roomId}`, { visibility: 'joined' });
    await waitFor(() => meta(head.doc).visibility === 'joined', { message: 'visibility back to joined' });
  });

  it('sees an invited member with their name and role', async () => {
    await bob.api('POST', `/api/rooms/${roomId}/members`, { userIds: [carol.id] });
    await waitFor(() => roles(head.doc)[carol.id] === 'member', { message: 'carol in the head' });
    expect(members(head.doc)[carol.id].username).toBe(carol.username);
  });

  it('sees a promotion and a demotion', async () => {
    await alice.api('PUT', `/api/rooms/${roomId}/admins/${carol.id}`, { admin: true });
    await waitFor(() => roles(head.doc)[carol.id] === 'admin', { message: 'carol promoted in the head' });
    await carol.api('PUT', `/api/rooms/${roomId}/admins/${carol.id}`, { admin: false });
    await waitFor(() => roles(head.doc)[carol.id] === 'member', { message: 'carol demoted in the head' });
  });

  it('sees the segment sealed and the next one opened when someone joins after messages', async () => {
    // carol's invitation already sealed segment 0 (it held the group's first membership line)
    const open = meta(head.doc).openSegment;
    const seg = await openDoc(sockets[1], `room:${roomId}:${open}`, alice.token);
    const id = post(seg.doc, alice.id, 'before dave');
    await waitFor(() => receiptsOf(seg.doc).has(id), { message: 'the receipt' });
    await alice.api('POST', `/api/rooms/${roomId}/members`, { userIds: [dave.id] });
    const next = String(open + 1);
    await waitFor(() => meta(head.doc).openSegment === open + 1 && segments(head.doc)[next] !== undefined && roles(head.doc)[dave.id] !== undefined, { message: 'the next segment and dave in the head' });
    expect(segments(head.doc)[String(open)].sealedAt).toEqual(expect.any(Number));
    expect(segments(head.doc)[next]).toMatchObject({ n: open + 1, sealedAt: null });
    expect(roles(head.doc)[dave.id]).toBe('member');
  });

  it('sees a kick and a departure', async () => {
    await alice.api('DELETE', `/api/rooms/${roomId}/members/${dave.id}`);
    await waitFor(() => !(dave.id in members(head.doc)), { message: 'dave gone from the head' });
    await carol.api('POST', `/api/rooms/${roomId}/leave`);
    await waitFor(() => !(carol.id in members(head.doc)), { message: 'carol gone from the head' });
    expect(Object.keys(roles(head.doc)).sort()).toEqual([alice.id, bob.id].sort());
  });

  it('sees the succession when the last admin leaves', async () => {
    await alice.api('POST', `/api/rooms/${roomId}/leave`);
    await waitFor(() => roles(head.doc)[bob.id] === 'admin' && !(alice.id in members(head.doc)), { message: 'bob as the heir in the head' });
  });
});

describe('the head document is read-only for clients', () => {
  it("closes a writer's head document with `read-only` and nobody else sees the change", async () => {
    const [alice, bob] = [await makeUser(server), await makeUser(server)];
    const room = await makeRoom(alice, [bob], { name: 'untouchable' });
    const name = `room:${room.id}`;
    const witnessSocket = connectSocket(server.wsUrl);
    const witness = await openDoc(witnessSocket, name, alice.token);
    const writerSocket = connectSocket(server.wsUrl);
    const writer = await openDoc(writerSocket, name, bob.token);
    const writerSeg = await openDoc(writerSocket, `room:${room.id}:0`, bob.token);

    writer.doc.getMap(HEAD_ROOM).set('name', 'hijacked');
    await waitFor(() => writer.closes.includes('read-only'), { timeout: 2000, message: 'the writer to be closed with read-only' });

    await sleep(150);
    expect(meta(witness.doc).name).toBe('untouchable');
    expect(server.app.collab.hocuspocus.documents.get(name)!.getMap(HEAD_ROOM).get('name')).toBe('untouchable');
    // the rest of the writer's socket is unaffected
    expect(writerSeg.closes).toEqual([]);
    expect(writerSeg.provider.isSynced).toBe(true);

    // a later real change still reaches the witness, without the forged value
    await alice.api('PATCH', `/api/rooms/${room.id}`, { visibility: 'shared' });
    await waitFor(() => meta(witness.doc).visibility === 'shared', { message: 'the real change' });
    expect(meta(witness.doc).name).toBe('untouchable');

    // a fresh connection of the writer reads the server's truth
    writer.provider.destroy();
    const fresh = await openDoc(writerSocket, name, bob.token);
    expect(meta(fresh.doc).name).toBe('untouchable');
    witnessSocket.destroy();
    writerSocket.destroy();
  });

  it('refuses a write that adds a new root type, too', async () => {
    const [alice, bob] = [await makeUser(server), await makeUser(server)];
    const room = await makeRoom(alice, [bob]);
    const socket = connectSocket(server.wsUrl);
    const writer = await openDoc(socket, `room:${room.id}`, bob.token);
    writer.doc.getMap('pinned').set('x', { text: 'fake notice' });
    await waitFor(() => writer.closes.includes('read-only'), { timeout: 2000, message: 'the writer to be closed' });
    expect(server.app.collab.hocuspocus.documents.get(`room:${room.id}`)?.share.has('pinned') ?? false).toBe(false);
    socket.destroy();
  });

  it('is not opened for a non-member', async () => {
    const [alice, bob, mallory] = [await makeUser(server), await makeUser(server), await makeUser(server)];
    const room = await makeRoom(alice, [bob]);
    const socket = connectSocket(server.wsUrl);
    const d = await openDoc(socket, `room:${room.id}`, mallory.token);
    expect(d.denied).toEqual(['not-found']);
    expect(d.doc.getMap(HEAD_ROOM).size).toBe(0);
    socket.destroy();
  });
});
