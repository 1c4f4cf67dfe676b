/** Segments: sealed by size, and a message written offline into a sealed segment is moved, never lost. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, waitFor, type TestServer } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked } from '../helpers/collab.ts';
import type { SegmentInfo } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ segmentMaxMessages: 5 });
});
afterAll(() => server.close());

describe('segments', () => {
  it('are sealed at the size bound and the head document announces the next one', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const room = await makeRoom(alice, [bob]);
    const socket = connectSocket(server.wsUrl);
    const head = await openDoc(socket, `room:${room.id}`, alice.token);
    const seg0 = await openDoc(socket, `room:${room.id}:0`, alice.token);
    for (let i = 0; i < 5; i++) post(seg0.doc, alice.id, `message ${i}`);
    await acked(seg0.provider);
    await waitFor(() => head.doc.getMap('room').get('openSegment') === 1, { message: 'open segment 1' });
    const segments = head.doc.getMap<SegmentInfo>('segments');
    expect(segments.get('0')!.sealedAt).not.toBeNull();
    expect(segments.get('1')!.sealedAt).toBeNull();
    const info = await alice.api('GET', `/api/rooms/${room.id}`);
    expect(info.body.room.segments).toEqual([0, 1]);
    socket.destroy();
  });

  it('moves a message written offline into a sealed segment to the open one, exactly once', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const room = await makeRoom(alice, [bob]);
    const bobSocket = connectSocket(server.wsUrl);
    const bobSeg0 = await openDoc(bobSocket, `room:${room.id}:0`, bob.token);
    bobSocket.disconnect();
    await waitFor(() => bobSocket.status === 'disconnected');

    // meanwhile the segment fills up and is sealed
    const aliceSocket = connectSocket(server.wsUrl);
    const aliceSeg0 = await openDoc(aliceSocket, `room:${room.id}:0`, alice.token);
    for (let i = 0; i < 5; i++) post(aliceSeg0.doc, alice.id, `while bob was away ${i}`);
    await acked(aliceSeg0.provider);
    const aliceSeg1 = await openDoc(aliceSocket, `room:${room.id}:1`, alice.token);

    // bob, still offline, writes into the segment he knows
    const id = post(bobSeg0.doc, bob.id, '오프라인에서 쓴 메시지');
    bobSocket.connect();
    await acked(bobSeg0.provider);

    await waitFor(() => messagesOf(aliceSeg1.doc).get(id)?.text === '오프라인에서 쓴 메시지', { message: 'moved message' });
    await waitFor(() => receiptsOf(aliceSeg1.doc).get(id) !== undefined && receiptsOf(aliceSeg0.doc).get(id)?.movedTo === 1, { message: 'receipts' });
    expect(bobSeg0.closes).toEqual([]);
    // ordered after everything accepted before it
    const seqs = [...receiptsOf(aliceSeg0.doc).entries()].filter(([k]) => k !== id).map(([, r]) => r.seq);
    expect(receiptsOf(aliceSeg1.doc).get(id)!.seq).toBeGreaterThan(Math.max(...seqs));
    // the moved copy keeps its author and the author can still edit it there
    expect(messagesOf(aliceSeg1.doc).get(id)!.author).toBe(bob.id);
    const bobSeg1 = await openDoc(bobSocket, `room:${room.id}:1`, bob.token);
    const moved = messagesOf(bobSeg1.doc).get(id)!;
    messagesOf(bobSeg1.doc).set(id, { ...moved, text: '고친 메시지', editedAt: Date.now() });
    await acked(bobSeg1.provider);
    await waitFor(() => messagesOf(aliceSeg1.doc).get(id)?.text === '고친 메시지');
    bobSocket.destroy();
    aliceSocket.destroy();
  });
});
