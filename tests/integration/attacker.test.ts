/**
 * The attacker suite: a raw Yjs client with a valid session tries to break every rule of SPEC §4.
 * Each refusal must carry its specific code, and the document must stay unchanged for everyone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import WebSocket from 'ws';
import { startServer, makeUser, makeRoom, waitFor, sleep, apiClient, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, acked, newId, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { TEST_LIMITS } from '../helpers/server.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as encoding from 'lib0/encoding';

let server: TestServer;
let alice: TestUser; // room admin
let bob: TestUser; // member, our attacker
let carol: TestUser; // outsider
let roomId: string;
let seg: string;
let witness: OpenDoc; // alice's real provider: what other clients see
let aliceMsg: string;
let headWitness: OpenDoc; // keeps the head document loaded and shows what members see

const MAX_UPDATE = 64 * 1024;

beforeAll(async () => {
  server = await startServer({ maxUpdateBytes: MAX_UPDATE }, { rateLimits: { ...TEST_LIMITS, messages: RATE_LIMITS.messages }, backlogGraceMs: 0 });
  [alice, bob, carol] = await Promise.all([makeUser(server), makeUser(server), makeUser(server)]);
  const room = await makeRoom(alice, [bob]);
  roomId = room.id;
  seg = `room:${roomId}:0`;
  witness = await openDoc(connectSocket(server.wsUrl), seg, alice.token);
  headWitness = await openDoc(witness.provider.configuration.websocketProvider, `room:${roomId}`, alice.token);
  aliceMsg = post(witness.doc, alice.id, 'original text from alice');
  await acked(witness.provider);
});
afterAll(async () => {
  witness.provider.configuration.websocketProvider.destroy();
  await server.close();
});

/** The server's live copy of a document. */
const serverDoc = (name: string) => server.app.collab.hocuspocus.documents.get(name)!;
const snapshotOf = (doc: Y.Doc) => JSON.stringify([...doc.share.keys()].sort().map((k) => [k, doc.get(k).toJSON()]));

async function attacker(user: TestUser, name = seg) {
  const c = new RawClient(server.wsUrl);
  const d = await c.open(name, user.token);
  return { c, d };
}

/** Sends the crafted update and asserts the refusal code and that nobody's copy changed. */
async function expectRefused(user: TestUser, change: (doc: Y.Doc) => void, code: string, opts: { clientId?: number; name?: string } = {}) {
  const name = opts.name ?? seg;
  const { c } = await attacker(user, name);
  const before = snapshotOf(serverDoc(name));
  const seen = name === seg ? witness.doc : headWitness.doc;
  const witnessBefore = snapshotOf(seen);
  const verdict = await c.attempt(name, c.craft(name, change, opts.clientId));
  expect(verdict).toEqual({ accepted: false, reason: code });
  await sleep(50);
  expect(snapshotOf(serverDoc(name))).toBe(before);
  expect(snapshotOf(seen)).toBe(witnessBefore);
  c.close();
}

const msg = (author: string, text: string, extra: Partial<Message> = {}): Message => {
  const id = extra.id ?? newId();
  return { id, author, text, createdAt: Date.now(), ...extra };
};

describe('a member with a modified client cannot', () => {
  it('post as someone else', async () => {
    const m = msg(alice.id, 'I am alice, trust me');
    await expectRefused(bob, (doc) => doc.getMap('messages').set(m.id, m), 'forged-author');
  });

  it("edit another person's message", async () => {
    await expectRefused(bob, (doc) => {
      const old = doc.getMap<Message>('messages').get(aliceMsg)!;
      doc.getMap('messages').set(aliceMsg, { ...old, text: 'hacked', editedAt: Date.now() });
    }, 'not-author');
  });

  it("delete another person's message without being a room admin", async () => {
    await expectRefused(bob, (doc) => {
      const old = doc.getMap<Message>('messages').get(aliceMsg)!;
      doc.getMap('messages').set(aliceMsg, { ...old, text: '', deleted: true });
    }, 'not-author');
  });

  it('remove a message entry outright', async () => {
    await expectRefused(bob, (doc) => doc.getMap('messages').delete(aliceMsg), 'not-author');
  });

  it('change the author of a message while editing it', async () => {
    await expectRefused(bob, (doc) => {
      const old = doc.getMap<Message>('messages').get(aliceMsg)!;
      doc.getMap('messages').set(aliceMsg, { ...old, author: bob.id, text: 'mine now', editedAt: Date.now() });
    }, 'forged-author');
  });

  it('write the server-owned receipts', async () => {
    await expectRefused(bob, (doc) => doc.getMap('receipts').set(aliceMsg, { seq: 999_999, at: 0 }), 'server-owned');
  });

  it('write outside the schema (another root, a nested type, unknown fields, a system message)', async () => {
    await expectRefused(bob, (doc) => doc.getMap('evil').set('x', 1), 'schema-violation');
    await expectRefused(bob, (doc) => doc.getMap('messages').set(newId(), new Y.Map()), 'schema-violation');
    const m = msg(bob.id, 'hi');
    await expectRefused(bob, (doc) => doc.getMap('messages').set(m.id, { ...m, system: true }), 'schema-violation');
    await expectRefused(bob, (doc) => doc.getMap('messages').set('bad id!', { ...m, id: 'bad id!' }), 'schema-violation');
    await expectRefused(bob, (doc) => doc.getText('messages').insert(0, 'x'), 'schema-violation');
  });

  it('exceed the message size', async () => {
    const m = msg(bob.id, 'ㄱ'.repeat(10_001));
    await expectRefused(bob, (doc) => doc.getMap('messages').set(m.id, m), 'message-too-long');
  });

  it('send an update larger than the cap', async () => {
    const m = msg(bob.id, 'x'.repeat(MAX_UPDATE + 10));
    await expectRefused(bob, (doc) => doc.getMap('messages').set(m.id, m), 'update-too-large');
  });

  it('write with a Yjs client id that belongs to another user', async () => {
    const m = msg(bob.id, 'sneaky');
    await expectRefused(bob, (doc) => doc.getMap('messages').set(m.id, m), 'client-id-taken', { clientId: witness.doc.clientID });
  });

  it("pre-delete another user's future messages", async () => {
    const { c } = await attacker(bob);
    // a delete set naming clocks alice's client has not written yet
    const future = Y.getState(witness.doc.store, witness.doc.clientID) + 5;
    const bytes = encodeDeleteOnly(witness.doc.clientID, future, 3);
    const before = snapshotOf(serverDoc(seg));
    expect(await c.attempt(seg, bytes)).toEqual({ accepted: false, reason: 'schema-violation' });
    expect(snapshotOf(serverDoc(seg))).toBe(before);
    c.close();
  });

  it('send garbage instead of an update, or garbage frames, without hurting the server', async () => {
    const { c } = await attacker(bob);
    expect(await c.attempt(seg, new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]))).toEqual({ accepted: false, reason: 'malformed-update' });
    c.close();
    const g = new RawClient(server.wsUrl);
    await g.opened;
    g.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    g.sendRaw(new Uint8Array(0));
    await waitFor(() => g.socketClosed !== null, { message: 'garbage socket closed' });
    const health = await apiClient(server.url)('GET', '/healthz');
    expect(health.status).toBe(200);
  });

  it('undo a deletion or change the fixed fields of its own message', async () => {
    const bobSide = await openDoc(connectSocket(server.wsUrl), seg, bob.token);
    const own = post(bobSide.doc, bob.id, 'my message');
    await acked(bobSide.provider);
    await expectRefused(bob, (doc) => {
      const old = doc.getMap<Message>('messages').get(own)!;
      doc.getMap('messages').set(own, { ...old, createdAt: 1, text: 'backdated', editedAt: Date.now() });
    }, 'server-owned');
    const old = messagesOf(bobSide.doc).get(own)!;
    messagesOf(bobSide.doc).set(own, { ...old, text: '', deleted: true });
    await acked(bobSide.provider);
    await expectRefused(bob, (doc) => {
      const dead = doc.getMap<Message>('messages').get(own)!;
      doc.getMap('messages').set(own, { ...dead, deleted: undefined, text: 'back from the dead', editedAt: Date.now() } as Message);
    }, 'forbidden');
    bobSide.provider.configuration.websocketProvider.destroy();
  });

  it('write to the head document', async () => {
    await expectRefused(bob, (doc) => doc.getMap('room').set('name', 'pwned'), 'read-only', { name: `room:${roomId}` });
    await expectRefused(bob, (doc) => doc.getMap('members').set(carol.id, { role: 'admin' }), 'read-only', { name: `room:${roomId}` });
  });

});

describe('a member cannot broadcast awareness (presence is not in the protocol yet)', () => {
  it('is closed with forbidden', async () => {
    const { c, d } = await attacker(bob);
    const aw = new Awareness(new Y.Doc());
    aw.setLocalState({ user: { name: 'x'.repeat(1000) } });
    const e = encoding.createEncoder();
    encoding.writeVarString(e, seg);
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, encodeAwarenessUpdate(aw, [aw.clientID]));
    c.sendRaw(encoding.toUint8Array(e));
    await waitFor(() => d.closed !== null);
    expect(d.closed).toBe('forbidden');
    c.close();
  });
});

describe('an outsider or a stale session cannot', () => {
  it('open or write a room it is not a member of', async () => {
    const c = new RawClient(server.wsUrl);
    const d = await c.open(seg, carol.token);
    expect(d.denied).toBe('not-found');
    const h = await c.open(`room:${roomId}`, carol.token);
    expect(h.denied).toBe('not-found');
    // a write sent anyway is not applied
    const before = snapshotOf(serverDoc(seg));
    const m = msg(carol.id, 'let me in');
    const scratch = new Y.Doc();
    scratch.getMap('messages').set(m.id, m);
    c.sendUpdate(seg, Y.encodeStateAsUpdate(scratch));
    await sleep(200);
    expect(snapshotOf(serverDoc(seg))).toBe(before);
    expect(d.doc.getMap('messages').size).toBe(0);
    c.close();
  });

  it('read segments from before it joined a `joined` room', async () => {
    const dave = await makeUser(server);
    const res = await alice.api('POST', `/api/rooms/${roomId}/members`, { userIds: [dave.id] });
    expect(res.status).toBe(200);
    expect(res.body.room.openSegment).toBeGreaterThan(0);
    const c = new RawClient(server.wsUrl);
    expect((await c.open(seg, dave.token)).denied).toBe('not-found');
    const open = await c.open(`room:${roomId}:${res.body.room.openSegment}`, dave.token);
    expect(open.authenticated).toBe(true);
    c.close();
  });

  it('keep using a revoked session', async () => {
    const login = await apiClient(server.url)('POST', '/api/login', { username: bob.username, password: 'password123' });
    const second = login.body.token as string;
    const c = new RawClient(server.wsUrl);
    await c.open(seg, second);
    const t0 = Date.now();
    expect((await apiClient(server.url, second)('POST', '/api/logout')).status).toBe(204);
    await waitFor(() => c.socketClosed !== null, { timeout: 1000, message: 'revoked socket closed within 1 s' });
    expect(Date.now() - t0).toBeLessThan(1000);
    const again = new RawClient(server.wsUrl);
    expect((await again.open(seg, second)).denied).toBe('unauthorized');
    again.close();
  });

  it('stay connected without authenticating, or receive document bytes before it does', async () => {
    const c = new RawClient(server.wsUrl);
    await c.opened;
    const received: Uint8Array[] = [];
    c.ws.on('message', (d: Buffer) => received.push(d));
    // a sync step 1 before any auth: must get nothing back
    const e = new Y.Doc();
    c.docs.set(seg, { name: seg, doc: e, authenticated: false, denied: null, closed: null, statuses: [], synced: false });
    c.sendUpdate(seg, Y.encodeStateAsUpdate(e));
    await waitFor(() => c.socketClosed !== null, { timeout: 8000, message: 'unauthenticated socket closed' });
    expect(c.socketClosed!.reason).toBe('unauthorized');
    expect(received.length).toBe(0);
  });

  it('open a socket with a cookie from a foreign origin', async () => {
    const login = await apiClient(server.url)('POST', '/api/login', { username: bob.username, password: 'password123' });
    const ws = new WebSocket(server.wsUrl, { headers: { cookie: `session=${login.body.token}`, origin: 'http://evil.example' } });
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(status).toBe(403);
  });
});

describe('room admins', () => {
  it("may delete another member's message, erasing its content", async () => {
    const bobSide = await openDoc(connectSocket(server.wsUrl), seg, bob.token);
    const id = post(bobSide.doc, bob.id, 'to be moderated');
    await acked(bobSide.provider);
    await waitFor(() => messagesOf(witness.doc).has(id));
    const old = messagesOf(witness.doc).get(id)!;
    messagesOf(witness.doc).set(id, { ...old, text: '', deleted: true });
    await acked(witness.provider);
    await waitFor(() => messagesOf(bobSide.doc).get(id)?.deleted === true);
    expect(witness.closes).toEqual([]);
    // the text is gone from the server's encoded state, not just hidden
    expect(Buffer.from(Y.encodeStateAsUpdate(serverDoc(seg))).includes(Buffer.from('to be moderated'))).toBe(false);
    bobSide.provider.configuration.websocketProvider.destroy();
  });
});

describe('a flooding member', () => {
  // last in the file: it spends bob's message allowance
  it('is refused beyond the per-user message rate', async () => {
    const { c } = await attacker(bob);
    let accepted = 0;
    let refusal: string | null = null;
    for (let i = 0; i < RATE_LIMITS.messages.points + 5 && !refusal; i++) {
      const m = msg(bob.id, `flood ${i}`);
      const v = await c.attempt(seg, c.craft(seg, (doc) => doc.getMap('messages').set(m.id, m)));
      if (v.accepted) {
        accepted++;
        Y.applyUpdate(c.docs.get(seg)!.doc, Y.encodeStateAsUpdate(serverDoc(seg)));
      } else refusal = v.reason;
    }
    expect(refusal).toBe('rate-limited');
    expect(accepted).toBeLessThanOrEqual(RATE_LIMITS.messages.points);
    c.close();
  });
});

/** An update with no structs and a delete set naming (client, clock..clock+len). */
function encodeDeleteOnly(client: number, clock: number, len: number): Uint8Array {
  const bytes: number[] = [];
  const varUint = (n: number) => {
    while (n > 0x7f) {
      bytes.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    bytes.push(n);
  };
  varUint(0); // number of clients with structs
  varUint(1); // delete set: one client
  varUint(client);
  varUint(1); // one range
  varUint(clock);
  varUint(len);
  return new Uint8Array(bytes);
}
