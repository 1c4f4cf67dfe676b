/**
 * Presence and typing over Hocuspocus stateless messages (no awareness): the `presence` document
 * carries `presence-all` on connect and `presence` changes; a room's head relays `typing` with the
 * sender's real id, throttled. An idle user costs only the server's keep-alive PING, measured here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as decoding from 'lib0/decoding';
import { startServer, makeUser, makeRoom, waitFor, sleep, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { PRESENCE_DOC, headName, userDocName, type StatelessFromServer } from '../../src/lib/protocol/schema.ts';

const PING_MS = 200;
const PRODUCTION_PING_MS = 15_000;

let server: TestServer;
beforeAll(async () => {
  server = await startServer({}, { pingIntervalMs: PING_MS });
});
afterAll(() => server.close());

/** Opens a document on a real provider and records every stateless message it receives, parsed. */
async function listen(socket: ReturnType<typeof connectSocket>, name: string, user: TestUser) {
  const d = await openDoc(socket, name, user.token, { wait: false });
  const got: StatelessFromServer[] = [];
  d.provider.on('stateless', ({ payload }: { payload: string }) => void got.push(JSON.parse(payload)));
  await waitFor(() => d.provider.isSynced || d.denied.length > 0, { message: `sync of ${name}` });
  return Object.assign(d, { got });
}
type Listening = OpenDoc & { got: StatelessFromServer[] };

const presenceOf = (l: Listening, userId: string) =>
  l.got.filter((m): m is Extract<StatelessFromServer, { t: 'presence' }> => m.t === 'presence' && m.u === userId).map((m) => m.s);

/** Every frame a raw client receives, decoded to (document, type, stateless payload?). */
function recordFrames(c: RawClient) {
  const frames: { bytes: number; doc: string | null; type: number; payload?: string }[] = [];
  c.ws.on('message', (data: Buffer) => {
    const u8 = new Uint8Array(data);
    if (u8.length === 1) return void frames.push({ bytes: 1, doc: null, type: u8[0] });
    const dec = decoding.createDecoder(u8);
    const doc = decoding.readVarString(dec);
    const type = decoding.readVarUint(dec);
    frames.push({ bytes: u8.length, doc, type, payload: type === 5 ? decoding.readVarString(dec) : undefined });
  });
  return frames;
}

describe('an idle user', () => {
  // first in the file: nobody else is connected, so nothing but the keep-alive may arrive
  it('receives only the keep-alive PING (bytes per minute measured and printed)', async () => {
    const alice = await makeUser(server);
    const c = new RawClient(server.wsUrl);
    await c.open(userDocName(alice.id), alice.token);
    await c.open(PRESENCE_DOC, alice.token);
    // answer PING with PONG as the provider does
    c.ws.on('message', (data: Buffer) => data.length === 1 && data[0] === 9 && c.sendRaw(Uint8Array.of(10)));
    await sleep(300);
    const frames = recordFrames(c);
    const socket = (c.ws as unknown as { _socket: { bytesRead: number; bytesWritten: number } })._socket;
    const [downBefore, upBefore] = [socket.bytesRead, socket.bytesWritten];
    const windowMs = 2000;
    await sleep(windowMs);
    const [down, up] = [socket.bytesRead - downBefore, socket.bytesWritten - upBefore];
    c.close();

    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.doc === null && f.type === 9 && f.bytes === 1)).toBe(true); // PING only
    expect(frames.length).toBeLessThanOrEqual(windowMs / PING_MS + 2);
    // per keep-alive round: PING down (1 byte + 2 header), PONG up (1 byte + 6 header, masked)
    const downPerPing = down / frames.length;
    const upPerPing = up / frames.length;
    expect(downPerPing).toBeLessThanOrEqual(3);
    const perMinute = (bytes: number) => Math.round((bytes * 60_000) / windowMs);
    const pingsPerMinute = 60_000 / PRODUCTION_PING_MS;
    console.log(
      `idle user (user doc + presence doc open), measured with PING every ${PING_MS} ms: ${frames.length} frames in ${windowMs} ms, ` +
        `${down} B down / ${up} B up (${perMinute(down)} / ${perMinute(up)} B/min). ` +
        `At the production PING every ${PRODUCTION_PING_MS / 1000} s: ${pingsPerMinute * downPerPing} B/min down + ${pingsPerMinute * upPerPing} B/min up per idle user (wire bytes, WebSocket framing included).`,
    );
    expect(pingsPerMinute * (downPerPing + upPerPing)).toBeLessThanOrEqual(40);
  });
});

describe('presence', () => {
  it('lists who is online on opening, and tells when a user goes offline', async () => {
    const [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
    const aliceSocket = connectSocket(server.wsUrl);
    await openDoc(aliceSocket, userDocName(alice.id), alice.token);
    const bobSocket = connectSocket(server.wsUrl);
    const bobPresence = await listen(bobSocket, PRESENCE_DOC, bob);
    await waitFor(() => bobPresence.got.some((m) => m.t === 'presence-all'), { message: 'presence-all' });
    const all = bobPresence.got.find((m) => m.t === 'presence-all') as Extract<StatelessFromServer, { t: 'presence-all' }>;
    expect(all.users[alice.id]).toBe('online');
    expect(all.users[bob.id]).toBe('online');

    aliceSocket.destroy();
    await waitFor(() => presenceOf(bobPresence, alice.id).includes('offline'), { message: 'alice offline' });
    expect(bobPresence.closes).toEqual([]);
    bobSocket.destroy();
  });

  it('stays online while the user has another socket open (a second tab or device)', async () => {
    const [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
    const bobSocket = connectSocket(server.wsUrl);
    const bobPresence = await listen(bobSocket, PRESENCE_DOC, bob);
    const tabs = [connectSocket(server.wsUrl), connectSocket(server.wsUrl)];
    for (const t of tabs) await openDoc(t, userDocName(alice.id), alice.token);
    await waitFor(() => presenceOf(bobPresence, alice.id).includes('online'), { message: 'alice online' });
    tabs[0].destroy();
    await sleep(300);
    expect(presenceOf(bobPresence, alice.id)).toEqual(['online']);
    tabs[1].destroy();
    await waitFor(() => presenceOf(bobPresence, alice.id).at(-1) === 'offline', { message: 'alice offline' });
    expect(presenceOf(bobPresence, alice.id)).toEqual(['online', 'offline']);
    bobSocket.destroy();
  });

  it('announces a user coming online, and away / back as the user says, under the real id', async () => {
    const [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
    const bobSocket = connectSocket(server.wsUrl);
    const bobPresence = await listen(bobSocket, PRESENCE_DOC, bob);
    const aliceSocket = connectSocket(server.wsUrl);
    const alicePresence = await listen(aliceSocket, PRESENCE_DOC, alice);
    await waitFor(() => presenceOf(bobPresence, alice.id).includes('online'), { message: 'alice online' });

    // a forged user field does not make bob away
    alicePresence.provider.sendStateless(JSON.stringify({ t: 'away', away: true, u: bob.id }));
    await waitFor(() => presenceOf(bobPresence, alice.id).at(-1) === 'away', { message: 'alice away' });
    alicePresence.provider.sendStateless(JSON.stringify({ t: 'away', away: false }));
    await waitFor(() => presenceOf(bobPresence, alice.id).at(-1) === 'online', { message: 'alice back' });
    expect(presenceOf(bobPresence, bob.id)).not.toContain('away');
    aliceSocket.destroy();
    bobSocket.destroy();
  });

  it("cannot be set for someone else, nor by garbage payloads", async () => {
    const [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
    const bobSocket = connectSocket(server.wsUrl);
    const bobPresence = await listen(bobSocket, PRESENCE_DOC, bob);
    const aliceSocket = connectSocket(server.wsUrl);
    const alicePresence = await listen(aliceSocket, PRESENCE_DOC, alice);
    await waitFor(() => presenceOf(bobPresence, alice.id).includes('online'), { message: 'alice online' });
    const before = bobPresence.got.length;
    for (const p of [
      JSON.stringify({ t: 'presence', u: bob.id, s: 'offline' }),
      JSON.stringify({ t: 'presence-all', users: { [bob.id]: 'offline' } }),
      JSON.stringify({ t: 'away', away: 'yes' }),
      '{"t":"away"',
      'x'.repeat(10_000),
    ]) alicePresence.provider.sendStateless(p);
    // a valid message after them proves they were processed (in order) and ignored
    alicePresence.provider.sendStateless(JSON.stringify({ t: 'away', away: true }));
    await waitFor(() => presenceOf(bobPresence, alice.id).at(-1) === 'away', { message: 'the valid message' });
    // (other tests' users may still be going offline: a status is broadcast at most once a second per user)
    expect(bobPresence.got.slice(before).filter((m) => (m as { u?: string }).u === alice.id)).toEqual([{ t: 'presence', u: alice.id, s: 'away' }]);
    expect((await bob.api('GET', '/api/me')).status).toBe(200);
    aliceSocket.destroy();
    bobSocket.destroy();
  });
});

describe('typing', () => {
  async function room() {
    const [alice, bob, carol] = await Promise.all([makeUser(server), makeUser(server), makeUser(server)]);
    const r = await makeRoom(alice, [bob]);
    const sockets = [connectSocket(server.wsUrl), connectSocket(server.wsUrl)];
    const aliceHead = await listen(sockets[0], headName(r.id), alice);
    const bobHead = await listen(sockets[1], headName(r.id), bob);
    return { alice, bob, carol, roomId: r.id, aliceHead, bobHead, sockets, done: () => sockets.forEach((s) => s.destroy()) };
  }
  const typingOf = (l: Listening) => l.got.filter((m) => m.t === 'typing');

  it('reaches the members who have the head open, with the real sender id, and never an outsider', async () => {
    const { alice, carol, roomId, aliceHead, bobHead, done } = await room();
    const outsider = new RawClient(server.wsUrl);
    const outsiderFrames = recordFrames(outsider);
    expect((await outsider.open(headName(roomId), carol.token)).denied).toBe('not-found');

    aliceHead.provider.sendStateless(JSON.stringify({ t: 'typing' }));
    await waitFor(() => typingOf(bobHead).length === 1, { message: 'typing at bob' });
    expect(typingOf(bobHead)).toEqual([{ t: 'typing', u: alice.id }]);
    await sleep(200);
    expect(outsiderFrames.filter((f) => f.type === 5)).toEqual([]);
    outsider.close();
    done();
  });

  it('carries the sender id the server knows, whatever the payload claims', async () => {
    const { alice, bob, roomId, bobHead, done } = await room();
    const other = connectSocket(server.wsUrl);
    const aliceAgain = await listen(other, headName(roomId), alice);
    aliceAgain.provider.sendStateless(JSON.stringify({ t: 'typing', u: bob.id }));
    await waitFor(() => typingOf(bobHead).length === 1, { message: 'typing at bob' });
    expect(typingOf(bobHead)).toEqual([{ t: 'typing', u: alice.id }]);
    other.destroy();
    done();
  });

  it('is relayed at most once per 1.5 s per connection', async () => {
    const { alice, aliceHead, bobHead, done } = await room();
    aliceHead.provider.sendStateless(JSON.stringify({ t: 'typing' }));
    aliceHead.provider.sendStateless(JSON.stringify({ t: 'typing' }));
    await waitFor(() => typingOf(bobHead).length >= 1, { message: 'first typing' });
    aliceHead.provider.sendStateless(JSON.stringify({ t: 'typing' }));
    await sleep(400);
    expect(typingOf(bobHead)).toEqual([{ t: 'typing', u: alice.id }]);
    done();
  });

  it('is not relayed from a segment, the user document or the presence document', async () => {
    const { alice, roomId, bobHead, sockets, done } = await room();
    const seg = await openDoc(sockets[0], `room:${roomId}:0`, alice.token);
    const own = await openDoc(sockets[0], userDocName(alice.id), alice.token);
    const pres = await openDoc(sockets[0], PRESENCE_DOC, alice.token);
    for (const d of [seg, own, pres]) d.provider.sendStateless(JSON.stringify({ t: 'typing' }));
    await sleep(300);
    expect(typingOf(bobHead)).toEqual([]);
    done();
  });
});
