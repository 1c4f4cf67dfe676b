import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, sleep, type TestServer } from '../helpers/server.ts';
import { connectSocket, openDoc } from '../helpers/collab.ts';

let server: TestServer;
beforeAll(async () => {
  // a short idle timeout: without the server's PING the socket would be closed after 600 ms of silence
  server = await startServer({}, { pingIntervalMs: 100, idleTimeoutMs: 600 });
});
afterAll(() => server.close());

describe('keep-alive', () => {
  it('keeps an idle, authenticated socket open with PING/PONG (no reconnect churn)', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const room = await makeRoom(alice, [bob]);
    const socket = connectSocket(server.wsUrl);
    let disconnects = 0;
    socket.on('disconnect', () => disconnects++);
    await openDoc(socket, `room:${room.id}:0`, alice.token);
    await sleep(2000);
    expect(disconnects).toBe(0);
    expect(socket.status).toBe('connected');
    socket.destroy();
  });
});
