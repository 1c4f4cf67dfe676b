/**
 * Read positions and pinned notices: both kept in SQLite, changed through the HTTP API and mirrored
 * by the server into the head document (`reads`, `pins`); a pin or unpin also leaves a system line
 * with a receipt in the room's open segment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked } from '../helpers/collab.ts';
import { HEAD_PINS, HEAD_READS, type Message, type Pin } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const readsOf = (head: Y.Doc) => head.getMap<number>(HEAD_READS).toJSON() as Record<string, number>;
/** The pins in banner order: newest last. */
const pinsOf = (head: Y.Doc) => [...head.getMap<Pin>(HEAD_PINS).values()].sort((x, y) => x.at - y.at || x.id.localeCompare(y.id));
// pin and poll lines (the group's membership line is not about pins)
const systemLines = (seg: Y.Doc) => [...messagesOf(seg).values()].filter((m) => m.system && m.system.type !== 'members');

/** alice (admin) and bob in a room; alice has the head and segment 0 open; carol is an outsider. */
async function setup(messages = 3) {
  const [alice, bob, carol] = await Promise.all([makeUser(server), makeUser(server), makeUser(server)]);
  const room = await makeRoom(alice, [bob]);
  const socket = connectSocket(server.wsUrl);
  const head = await openDoc(socket, `room:${room.id}`, alice.token);
  const seg = await openDoc(socket, `room:${room.id}:0`, alice.token);
  const ids: string[] = [];
  for (let i = 0; i < messages; i++) ids.push(post(seg.doc, alice.id, `message ${i}`));
  await acked(seg.provider);
  await waitFor(() => ids.every((id) => receiptsOf(seg.doc).has(id)), { message: 'receipts' });
  const seqs = ids.map((id) => receiptsOf(seg.doc).get(id)!.seq);
  return { alice, bob, carol, roomId: room.id, head, seg, ids, seqs, done: () => socket.destroy() };
}

describe('read positions', () => {
  it('move forward only, are clamped to the last message, and show in the head for other members', async () => {
    const { bob, roomId, head, seqs, done } = await setup(3);
    const put = (seq: number) => bob.api('PUT', `/api/rooms/${roomId}/read`, { seq });
    expect(await put(seqs[1])).toEqual({ status: 200, body: { seq: seqs[1] } });
    await waitFor(() => readsOf(head.doc)[bob.id] === seqs[1], { message: "bob's read position in alice's head" });

    expect((await put(seqs[0])).body).toEqual({ seq: seqs[1] }); // never back
    expect((await put(seqs[2] + 1000)).body).toEqual({ seq: seqs[2] }); // never past the last message
    await waitFor(() => readsOf(head.doc)[bob.id] === seqs[2], { message: 'clamped position in the head' });
    expect((await bob.api('GET', `/api/rooms/${roomId}`)).status).toBe(200);
    done();
  });

  it('answer 404 to a non-member and 400 to bad bodies', async () => {
    const { bob, carol, roomId, head, done } = await setup(1);
    expect((await carol.api('PUT', `/api/rooms/${roomId}/read`, { seq: 1 })).status).toBe(404);
    expect((await carol.api('PUT', '/api/rooms/nosuchroom123/read', { seq: 1 })).status).toBe(404);
    for (const body of [{}, { seq: '1' }, { seq: -1 }, { seq: 1.5 }, { seq: 1, extra: true }, [], 'null', '{not json']) {
      const res = await bob.api('PUT', `/api/rooms/${roomId}/read`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toMatch(/^(validation-failed|invalid-json|bad-request)$/);
    }
    expect(readsOf(head.doc)[carol.id]).toBeUndefined();
    expect(readsOf(head.doc)[bob.id] ?? 0).toBe(0);
    done();
  });
});

describe('pinned notices', () => {
  it('any member pins a message or a notice; the head lists them newest last; each pin leaves a system line', async () => {
    const { alice, bob, roomId, head, seg, ids, done } = await setup(2);
    const pinMsg = await bob.api('POST', `/api/rooms/${roomId}/pins`, { messageId: ids[0], segment: 0 });
    expect(pinMsg.status).toBe(201);
    expect(pinMsg.body.pin).toMatchObject({ messageId: ids[0], segment: 0, text: 'message 0', by: bob.id });
    const notice = await alice.api('POST', `/api/rooms/${roomId}/pins`, { text: '금요일 사무실 휴무' });
    expect(notice.status).toBe(201);
    expect(notice.body.pin).toMatchObject({ messageId: null, segment: null, text: '금요일 사무실 휴무', by: alice.id });

    await waitFor(() => pinsOf(head.doc).length === 2, { message: 'two pins in the head' });
    expect(pinsOf(head.doc).map((p) => p.id)).toEqual([pinMsg.body.pin.id, notice.body.pin.id]);
    expect(pinsOf(head.doc).at(-1)).toEqual(notice.body.pin); // the banner

    // each line's receipt follows the line's own commit (a server write after it)
    await waitFor(() => systemLines(seg.doc).length === 2 && systemLines(seg.doc).every((m) => receiptsOf(seg.doc).has(m.id)), { message: 'two system lines with receipts' });
    const lines = systemLines(seg.doc).sort((x, y) => receiptsOf(seg.doc).get(x.id)!.seq - receiptsOf(seg.doc).get(y.id)!.seq);
    expect(lines.map((m) => m.system)).toEqual([
      { type: 'pinned', pinId: pinMsg.body.pin.id, excerpt: 'message 0' },
      { type: 'pinned', pinId: notice.body.pin.id, excerpt: '금요일 사무실 휴무' },
    ]);
    expect(lines.map((m) => m.author)).toEqual([bob.id, alice.id]);
    // system lines are ordered with the messages (receipts), after everything before them
    const maxMessageSeq = Math.max(...ids.map((id) => receiptsOf(seg.doc).get(id)!.seq));
    expect(receiptsOf(seg.doc).get(lines[0].id)!.seq).toBeGreaterThan(maxMessageSeq);
    done();
  });

  it('unpinning removes the pin from the head and leaves an `unpinned` system line', async () => {
    const { bob, roomId, head, seg, done } = await setup(0);
    const { body } = await bob.api('POST', `/api/rooms/${roomId}/pins`, { text: 'temporary notice' });
    await waitFor(() => pinsOf(head.doc).length === 1, { message: 'pin in the head' });
    expect((await bob.api('DELETE', `/api/rooms/${roomId}/pins/${body.pin.id}`)).status).toBe(204);
    await waitFor(() => pinsOf(head.doc).length === 0, { message: 'pin gone from the head' });
    await waitFor(() => systemLines(seg.doc).some((m) => m.system?.type === 'unpinned' && receiptsOf(seg.doc).has(m.id)), { message: 'unpinned line with its receipt' });
    const line = systemLines(seg.doc).find((m) => m.system?.type === 'unpinned')!;
    expect(line.system).toEqual({ type: 'unpinned', pinId: body.pin.id, excerpt: 'temporary notice' });
    expect(receiptsOf(seg.doc).get(line.id)?.seq).toEqual(expect.any(Number));
    expect((await bob.api('DELETE', `/api/rooms/${roomId}/pins/${body.pin.id}`)).status).toBe(404); // already gone
    done();
  });

  it('refuses a missing, deleted or system message (404) and bad bodies (400)', async () => {
    const { alice, roomId, head, seg, ids, done } = await setup(2);
    const pin = (body: unknown) => alice.api('POST', `/api/rooms/${roomId}/pins`, body);
    expect((await pin({ messageId: 'nosuchmessage1', segment: 0 })).status).toBe(404);
    expect((await pin({ messageId: ids[0], segment: 7 })).status).toBe(404); // no such segment
    const old = messagesOf(seg.doc).get(ids[1])!;
    messagesOf(seg.doc).set(ids[1], { ...old, text: '', deleted: true } as Message);
    await acked(seg.provider);
    expect((await pin({ messageId: ids[1], segment: 0 })).status).toBe(404);

    const notice = await pin({ text: 'a notice' });
    await waitFor(() => systemLines(seg.doc).length === 1, { message: 'system line' });
    expect((await pin({ messageId: systemLines(seg.doc)[0].id, segment: 0 })).status).toBe(404);

    for (const body of [{}, { text: '' }, { text: 'x'.repeat(1001) }, { messageId: ids[0] }, { messageId: ids[0], segment: -1 }, { text: 'a', extra: 1 }]) {
      expect((await pin(body)).status, JSON.stringify(body)).toBe(400);
    }
    await waitFor(() => pinsOf(head.doc).length === 1, { message: 'the one valid pin' });
    expect(pinsOf(head.doc).map((p) => p.id)).toEqual([notice.body.pin.id]);
    done();
  });

  it('pins a long message, its text cut to the notice limit without splitting a character', async () => {
    const { alice, bob, roomId, head, seg, done } = await setup(0);
    const long = '공지 '.repeat(333) + '😀'.repeat(300); // 1,599 UTF-16 units, an emoji across unit 1000
    const id = post(seg.doc, alice.id, long);
    await acked(seg.provider);
    const res = await bob.api('POST', `/api/rooms/${roomId}/pins`, { messageId: id, segment: 0 });
    expect(res.status).toBe(201);
    const text: string = res.body.pin.text;
    expect(text.length).toBeLessThanOrEqual(1000);
    expect(long.startsWith(text)).toBe(true);
    expect(text.isWellFormed()).toBe(true);
    await waitFor(() => pinsOf(head.doc).length === 1, { message: 'the pin in the head' });
    done();
  });

  it('are closed to non-members, who get 404 for pin and unpin', async () => {
    const { alice, carol, roomId, head, ids, done } = await setup(1);
    const { body } = await alice.api('POST', `/api/rooms/${roomId}/pins`, { text: 'members only' });
    expect((await carol.api('POST', `/api/rooms/${roomId}/pins`, { text: 'intruder' })).status).toBe(404);
    expect((await carol.api('POST', `/api/rooms/${roomId}/pins`, { messageId: ids[0], segment: 0 })).status).toBe(404);
    expect((await carol.api('DELETE', `/api/rooms/${roomId}/pins/${body.pin.id}`)).status).toBe(404);
    await waitFor(() => pinsOf(head.doc).length === 1, { message: 'pin in the head' });
    expect(pinsOf(head.doc)[0].text).toBe('members only');
    done();
  });

  it('cannot reveal a message from a segment the member may not read (joined later)', async () => {
    const { alice, roomId, head, ids, done } = await setup(1);
    const dave: TestUser = await makeUser(server);
    expect((await alice.api('POST', `/api/rooms/${roomId}/members`, { userIds: [dave.id] })).status).toBe(200);
    const res = await dave.api('POST', `/api/rooms/${roomId}/pins`, { messageId: ids[0], segment: 0 });
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body)).not.toContain('message 0');
    expect(pinsOf(head.doc)).toEqual([]);
    done();
  });
});
