/**
 * Membership lines: creating a group, inviting, leaving and removing a member each leave a
 * server-written `members` system line in the room's open segment, with the names as they were;
 * 1:1 rooms get none; clients cannot forge one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, type TestServer } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf } from '../helpers/collab.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const memberLines = (seg: Y.Doc) =>
  [...messagesOf(seg).values()]
    .filter((m) => m.system?.type === 'members')
    .sort((a, b) => (receiptsOf(seg).get(a.id)?.seq ?? 0) - (receiptsOf(seg).get(b.id)?.seq ?? 0));

/** The membership lines of every segment the user can read, in order. */
async function linesOfRoom(roomId: string, token: string) {
  const { room } = await fetch(`${server.url}/api/rooms/${roomId}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json());
  const socket = connectSocket(server.wsUrl);
  const out: Message[] = [];
  for (const n of room.segments as number[]) out.push(...memberLines((await openDoc(socket, `room:${roomId}:${n}`, token)).doc));
  socket.destroy();
  return out;
}

async function openSegment(roomId: string, token: string) {
  const { body } = await fetch(`${server.url}/api/rooms/${roomId}`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({ body: await r.json() }));
  const socket = connectSocket(server.wsUrl);
  const seg = await openDoc(socket, `room:${roomId}:${body.room.openSegment}`, token);
  return { seg, done: () => socket.destroy() };
}

describe('membership lines', () => {
  it('a new group says who invited whom, with a receipt', async () => {
    const [alice, bob, carol] = await Promise.all([makeUser(server), makeUser(server), makeUser(server)]);
    await alice.api('PATCH', '/api/me', { displayName: '김민지' });
    const room = await makeRoom(alice, [bob, carol], { name: '기획팀' });
    const { seg, done } = await openSegment(room.id, bob.token);
    await waitFor(() => memberLines(seg.doc).length === 1 && receiptsOf(seg.doc).has(memberLines(seg.doc)[0].id), { message: 'invite line with receipt' });
    const [line] = memberLines(seg.doc);
    expect(line.author).toBe(alice.id);
    expect(line.system).toEqual({ type: 'members', change: 'invited', userIds: [bob.id, carol.id], names: [bob.username, carol.username] });
    done();
  });

  it('invite, leave and remove each leave a line in the open segment (the new one in a joined room)', async () => {
    const [alice, bob, carol, dave] = await Promise.all([makeUser(server), makeUser(server), makeUser(server), makeUser(server)]);
    const room = await makeRoom(alice, [bob]);
    expect((await alice.api('POST', `/api/rooms/${room.id}/members`, { userIds: [carol.id, dave.id] })).status).toBe(200);
    // carol joined later: she reads the segment opened for her, and the line is in it
    const { seg, done } = await openSegment(room.id, carol.token);
    await waitFor(() => memberLines(seg.doc).some((m) => m.system?.type === 'members' && m.system.change === 'invited'), { message: 'invite line' });
    expect(memberLines(seg.doc)[0].system).toMatchObject({ change: 'invited', userIds: [carol.id, dave.id] });

    done();

    expect((await dave.api('POST', `/api/rooms/${room.id}/leave`)).status).toBe(204);
    expect((await alice.api('DELETE', `/api/rooms/${room.id}/members/${bob.id}`)).status).toBe(204);
    // each change opened a new segment in this `joined` room; the lines follow the changes
    const lines = await waitFor(
      async () => {
        const all = await linesOfRoom(room.id, alice.token);
        if (all.length < 4) throw new Error(`${all.length} lines`);
        return all.map((m) => ({ author: m.author, system: m.system }));
      },
      { message: 'leave and remove lines' },
    );
    expect(lines).toContainEqual({ author: dave.id, system: { type: 'members', change: 'left', userIds: [dave.id], names: [dave.username] } });
    expect(lines).toContainEqual({ author: alice.id, system: { type: 'members', change: 'removed', userIds: [bob.id], names: [bob.username] } });
  });

  it('a 1:1 room has no membership lines (positive control: a message arrives)', async () => {
    const [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
    const { body } = await alice.api('POST', '/api/rooms', { memberIds: [bob.id] });
    const { seg, done } = await openSegment(body.room.id, alice.token);
    const id = post(seg.doc, alice.id, 'hi');
    await waitFor(() => receiptsOf(seg.doc).has(id), { message: 'receipt of the message' });
    expect(memberLines(seg.doc)).toEqual([]);
    done();
  });

  it('a client cannot write a membership line of its own', async () => {
    const [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
    const room = await makeRoom(alice, [bob]);
    const { seg, done } = await openSegment(room.id, bob.token);
    await waitFor(() => memberLines(seg.doc).length === 1, { message: 'the real line' });
    const forged: Message = { id: 'mforged1', author: bob.id, text: '', createdAt: Date.now(), system: { type: 'members', change: 'removed', userIds: [alice.id], names: ['alice'] } };
    seg.doc.getMap<Message>('messages').set(forged.id, forged);
    await waitFor(() => seg.closes.includes('schema-violation'), { message: 'refusal' });
    const name = `room:${room.id}:${room.openSegment}`;
    expect(server.app.collab.hocuspocus.documents.get(name)?.getMap('messages').has(forged.id) ?? false).toBe(false);
    done();
  });
});
