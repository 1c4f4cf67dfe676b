/** What a member wrote offline arrives at once on reconnect; it has its own budget, not the live rate. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, waitFor, TEST_LIMITS, type TestServer } from '../helpers/server.ts';
import { connectSocket, openDoc, post, receiptsOf, acked } from '../helpers/collab.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { RawClient } from '../helpers/raw-client.ts';
import * as Y from 'yjs';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({}, { rateLimits: { ...TEST_LIMITS, messages: RATE_LIMITS.messages, backlog: { ...RATE_LIMITS.backlog, points: 60 } } });
});
afterAll(() => server.close());

describe('an offline backlog', () => {
  it('of more messages than the live rate allows is accepted in the reconnect sync', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const room = await makeRoom(alice, [bob]);
    const socket = connectSocket(server.wsUrl);
    const seg = await openDoc(socket, `room:${room.id}:0`, alice.token);
    socket.disconnect();
    await waitFor(() => socket.status === 'disconnected');
    const ids = Array.from({ length: RATE_LIMITS.messages.points + 10 }, (_, i) => post(seg.doc, alice.id, `offline ${i}`));
    void socket.connect();
    await acked(seg.provider);
    await waitFor(() => ids.every((id) => receiptsOf(seg.doc).has(id)), { message: 'receipts for the whole backlog' });
    expect(seg.closes).toEqual([]);
    socket.destroy();
  });

  it('is still bounded: a backlog beyond its budget is refused as rate-limited', async () => {
    const mallory = await makeUser(server);
    const bob = await makeUser(server);
    const room = await makeRoom(mallory, [bob]);
    const name = `room:${room.id}:0`;
    const c = new RawClient(server.wsUrl);
    await c.open(name, mallory.token);
    const verdict = await c.attempt(name, c.craft(name, (doc) => {
      for (let i = 0; i < 61; i++) {
        const id = `flood${i.toString().padStart(4, '0')}`;
        doc.getMap('messages').set(id, { id, author: mallory.id, text: `x${i}`, createdAt: Date.now() });
      }
    }), 'step2');
    expect(verdict).toEqual({ accepted: false, reason: 'rate-limited' });
    // nothing of the flood: only the server's line of the group's creation
    const kept = [...(server.app.collab.hocuspocus.documents.get(name)?.getMap<{ id: string; system?: unknown }>('messages').values() ?? [])];
    expect(kept.filter((m) => !m.system)).toEqual([]);
    c.close();
    void Y;
  });
});
