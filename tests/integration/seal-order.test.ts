/**
 * Issue 7 item 12: a burst from one socket that straddles a seal keeps its author's order.
 *
 * A writer still writing into the segment that was just sealed (it has not seen the head's new
 * `openSegment` yet) and already into the new one sends its frames in one TCP chunk. Hocuspocus
 * handles each document connection's messages in its own queue, so the frames of the sealed and of
 * the new segment are applied interleaved, not in arrival order. The seqs must still follow the
 * order the frames arrived in, every message must count exactly once (moved ones marked `movedTo`
 * where they were written), and nothing may be lost. SEGMENT_MAX_MESSAGES is 5, so the burst also
 * fills the new segment and straddles its seal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { readServerDoc } from '../../server/collab/server-writes.ts';
import { SEGMENT_MESSAGES, SEGMENT_RECEIPTS, segmentName, type Message, type Receipt } from '../../src/lib/protocol/schema.ts';
import type { Hocuspocus } from '@hocuspocus/server';

const MAX = 5;
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ segmentMaxMessages: MAX });
});
afterAll(() => server.close());

const db = () => server.app.services.db;
const rows = (roomId: string) =>
  db().prepare('SELECT message_id AS id, segment, seq FROM room_messages WHERE room_id = ? ORDER BY seq').all(roomId) as { id: string; segment: number; seq: number }[];
const openSegment = (roomId: string) => (db().prepare('SELECT open_segment FROM rooms WHERE id = ?').pluck().get(roomId) as number);

/** One writer's local copy of a segment: a fresh client id per segment, one new key per post. */
class Writer {
  private docs = new Map<number, Y.Doc>();
  ids: string[] = [];
  constructor(private raw: RawClient, private roomId: string, private user: TestUser) {}
  frame(n: number, text: string): Uint8Array {
    let doc = this.docs.get(n);
    if (!doc) this.docs.set(n, (doc = new Y.Doc()));
    const id = `w${this.ids.length.toString().padStart(3, '0')}${Math.random().toString(36).slice(2, 8)}`;
    this.ids.push(id);
    const before = Y.encodeStateVector(doc);
    doc.getMap<Message>(SEGMENT_MESSAGES).set(id, { id, author: this.user.id, text, createdAt: Date.now() + this.ids.length });
    return Y.encodeStateAsUpdate(doc, before);
  }
  /** Sends the frames as one write on the socket (one TCP chunk on loopback). */
  burst(frames: [number, Uint8Array][]) {
    const socket = (this.raw.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    for (const [n, update] of frames) this.raw.sendUpdate(segmentName(this.roomId, n), update);
    socket.uncork();
  }
}

async function serverDoc(name: string) {
  return readServerDoc(server.app.collab.hocuspocus as unknown as Hocuspocus, name, (doc) => ({
    messages: new Map(doc.getMap<Message>(SEGMENT_MESSAGES).entries()),
    receipts: new Map(doc.getMap<Receipt>(SEGMENT_RECEIPTS).entries()),
  }));
}

describe('seals under a burst', () => {
  it('gives one socket’s messages seqs in arrival order across the sealed and the new segment', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    // a 1:1 room: no membership line counts in segment 0, so the segment arithmetic below is exact
    const room = (await alice.api('POST', '/api/rooms', { memberIds: [bob.id] })).body.room as { id: string };
    const raw = new RawClient(server.wsUrl);
    await raw.open(segmentName(room.id, 0), alice.token);
    const w = new Writer(raw, room.id, alice);

    // bob fills segment 0: it seals and segment 1 opens
    const bobRaw = new RawClient(server.wsUrl);
    await bobRaw.open(segmentName(room.id, 0), bob.token);
    const bobW = new Writer(bobRaw, room.id, bob);
    bobW.burst(Array.from({ length: MAX }, (_, i) => [0, bobW.frame(0, `bob ${i}`)] as [number, Uint8Array]));
    await waitFor(() => openSegment(room.id) === 1, { message: 'segment 0 sealed' });
    await raw.open(segmentName(room.id, 1), alice.token);

    // alice's burst: three more into the sealed segment 0 (she has not seen the seal), then six
    // into segment 1; frames for the two documents alternate at the seam. Nine messages count in
    // segment 1: it seals after five, and the last four written into it are moved on to segment 2
    const plan = [0, 0, 1, 0, 1, 1, 1, 1, 1];
    const frames = plan.map((n, i) => [n, w.frame(n, `alice ${i}`)] as [number, Uint8Array]);
    w.burst(frames);
    await waitFor(() => w.ids.every((id) => rows(room.id).some((r) => r.id === id)), { message: 'every message reserved' });

    const all = rows(room.id);
    const mine = w.ids.map((id) => all.find((r) => r.id === id)!);
    // the author's order: seqs rise in the order the frames were written and arrived
    expect(mine.map((r) => r.seq)).toEqual([...mine.map((r) => r.seq)].sort((a, b) => a - b));
    expect(new Set(all.map((r) => r.seq)).size).toBe(all.length);
    expect(all).toHaveLength(MAX + plan.length);
    // the burst straddled two seals: segment 0 (already sealed) and segment 1 (filled by the burst)
    expect(openSegment(room.id)).toBe(2);

    // every message counts exactly once, where its row says; a moved one is marked where it was written
    await waitFor(async () => {
      for (const [i, id] of w.ids.entries()) {
        const row = mine[i];
        const counted = await serverDoc(segmentName(room.id, row.segment));
        if (counted.receipts.get(id)?.seq !== row.seq || counted.receipts.get(id)?.movedTo !== undefined) return false;
        if (counted.messages.get(id)?.author !== alice.id) return false;
        if (plan[i] !== row.segment) {
          const written = await serverDoc(segmentName(room.id, plan[i]));
          if (written.receipts.get(id)?.movedTo !== row.segment) return false;
        }
      }
      return true;
    }, { message: 'receipts and moves in the documents' });
    for (let n = 0; n <= 2; n++) {
      const d = await serverDoc(segmentName(room.id, n));
      for (const [id, r] of d.receipts) {
        const row = all.find((x) => x.id === id)!;
        // a receipt is the row's seq, and only one segment holds it without `movedTo`
        expect(r.seq).toBe(row.seq);
        if (r.movedTo === undefined) expect(row.segment).toBe(n);
        else expect(r.movedTo).toBe(row.segment);
      }
    }
    raw.close();
    bobRaw.close();
  });
});
