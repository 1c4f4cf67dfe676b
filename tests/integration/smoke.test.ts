import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, waitFor, type TestServer } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked } from '../helpers/collab.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('two members chat over /collab', () => {
  it('delivers a message with a receipt to the other member', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const room = await makeRoom(alice, [bob]);
    const sa = connectSocket(server.wsUrl);
    const sb = connectSocket(server.wsUrl);
    const a = await openDoc(sa, `room:${room.id}:0`, alice.token);
    const b = await openDoc(sb, `room:${room.id}:0`, bob.token);
    const id = post(a.doc, alice.id, '안녕하세요');
    await acked(a.provider);
    await waitFor(() => messagesOf(b.doc).get(id)?.text === '안녕하세요');
    // the group's "○○ 님이 ○○ 님을 초대했습니다" line is the room's other numbered entry
    await waitFor(() => receiptsOf(b.doc).size === 2 && receiptsOf(b.doc).has(id));
    expect([...receiptsOf(b.doc).values()].map((r) => r.seq).sort()).toEqual([1, 2]);
    sa.destroy();
    sb.destroy();
  });
});
