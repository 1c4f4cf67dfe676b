/**
 * Issue 7 §1 from the attacker's side: hand-made updates sent by a raw Yjs client with a valid
 * session. Each refusal carries its code and leaves every other member's copy unchanged; each has a
 * positive control next to it (the honest form of the same write is accepted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { startServer, makeUser, makeRoom, waitFor, apiClient, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked, newId, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { TEST_LIMITS } from '../helpers/server.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
let alice: TestUser; // room admin
let bob: TestUser; // member, the attacker
let roomId: string;
let seg0: string;
let witness: OpenDoc; // alice's real provider: what other members see

beforeAll(async () => {
  server = await startServer({}, { rateLimits: TEST_LIMITS });
  [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
  roomId = (await makeRoom(alice, [bob])).id;
  seg0 = `room:${roomId}:0`;
  witness = await openDoc(connectSocket(server.wsUrl), seg0, alice.token);
});
afterAll(async () => {
  witness.provider.configuration.websocketProvider.destroy();
  await server.close();
});

const serverDoc = (name: string) => server.app.collab.hocuspocus.documents.get(name)!;
const snapshotOf = (doc: Y.Doc) => JSON.stringify([...doc.share.keys()].sort().map((k) => [k, doc.get(k).toJSON()]));
const freshClient = () => 100_000 + Math.floor(Math.random() * 1_000_000_000);

/** Re-encodes decoded structs of one client as an update with an EMPTY delete set, as an attacker can. */
function structsOnly(structs: Y.Item[]): Uint8Array {
  const enc = new Y.UpdateEncoderV1();
  encoding.writeVarUint(enc.restEncoder, 1);
  encoding.writeVarUint(enc.restEncoder, structs.length);
  enc.writeClient(structs[0].id.client);
  encoding.writeVarUint(enc.restEncoder, structs[0].id.clock);
  for (const s of structs) s.write(enc, 0);
  encoding.writeVarUint(enc.restEncoder, 0);
  return enc.toUint8Array();
}

/** The one struct a write of `key` := deleted content makes at a fresh client id (origin: the key's current item). */
function deletedContentOn(replica: Y.Doc, root: string, key: string): Uint8Array {
  const scratch = new Y.Doc();
  Y.applyUpdate(scratch, Y.encodeStateAsUpdate(replica));
  scratch.clientID = freshClient();
  const before = Y.encodeStateVector(scratch);
  scratch.transact(() => {
    scratch.getMap(root).set(key, 'x');
    scratch.getMap(root).delete(key);
  });
  const { structs } = Y.decodeUpdate(Y.encodeStateAsUpdate(scratch, before));
  const own = structs.filter((s): s is Y.Item => s instanceof Y.Item && s.id.client === scratch.clientID);
  expect(own).toHaveLength(1);
  expect(own[0].content).toBeInstanceOf(Y.ContentDeleted);
  return structsOnly(own);
}

async function expectRefused(user: TestUser, name: string, update: Uint8Array | ((c: RawClient) => Uint8Array), code: string, seen: Y.Doc = witness.doc) {
  const c = new RawClient(server.wsUrl);
  await c.open(name, user.token);
  const before = snapshotOf(serverDoc(name));
  const seenBefore = snapshotOf(seen);
  const verdict = await c.attempt(name, typeof update === 'function' ? update(c) : update);
  expect(verdict).toEqual({ accepted: false, reason: code });
  expect(serverDoc(name).store.pendingStructs).toBeNull();
  expect(snapshotOf(serverDoc(name))).toBe(before);
  expect(snapshotOf(seen)).toBe(seenBefore);
  c.close();
}

async function expectAccepted(user: TestUser, name: string, update: (c: RawClient) => Uint8Array) {
  const c = new RawClient(server.wsUrl);
  await c.open(name, user.token);
  expect(await c.attempt(name, update(c))).toEqual({ accepted: true, reason: null });
  c.close();
}

describe('a struct with deleted content is a write to its key', () => {
  it('cannot replace another user\'s message entry', async () => {
    const id = post(witness.doc, alice.id, 'alice wrote this');
    await acked(witness.provider);
    await waitFor(() => receiptsOf(witness.doc).has(id));
    await expectRefused(bob, seg0, (c) => deletedContentOn(c.docs.get(seg0)!.doc, 'messages', id), 'not-author');
    expect(messagesOf(serverDoc(seg0)).get(id)?.text).toBe('alice wrote this');
  });

  it('cannot remove another user\'s reaction', async () => {
    const id = post(witness.doc, alice.id, 'react to me');
    witness.doc.getMap('reactions').set(`${id}|${alice.id}|👍`, { at: Date.now() });
    await acked(witness.provider);
    await expectRefused(bob, seg0, (c) => deletedContentOn(c.docs.get(seg0)!.doc, 'reactions', `${id}|${alice.id}|👍`), 'forged-author');
  });

  it('is counted as a write: its own reaction can be removed that way (positive control)', async () => {
    const id = post(witness.doc, alice.id, 'bob reacts');
    await acked(witness.provider);
    const key = `${id}|${bob.id}|👍`;
    await expectAccepted(bob, seg0, (c) => c.craft(seg0, (doc) => doc.getMap('reactions').set(key, { at: Date.now() })));
    await waitFor(() => witness.doc.getMap('reactions').has(key));
    await expectAccepted(bob, seg0, (c) => deletedContentOn(c.docs.get(seg0)!.doc, 'reactions', key));
    await waitFor(() => !witness.doc.getMap('reactions').has(key), { message: 'reaction removed' });
  });

  it('cannot remove a system line', async () => {
    const sys = [...messagesOf(serverDoc(seg0)).values()].find((m) => m.system);
    const id = sys?.id ?? (await (async () => {
      // a pin writes a system line into the open segment
      const m = post(witness.doc, alice.id, 'pin me');
      await acked(witness.provider);
      await waitFor(() => receiptsOf(witness.doc).has(m));
      expect((await apiClient(server.url, alice.token)('POST', `/api/rooms/${roomId}/pins`, { messageId: m, segment: 0 })).status).toBeLessThan(300);
      return (await waitFor(() => [...messagesOf(witness.doc).values()].find((x) => x.system), { message: 'system line' }))!.id;
    })());
    await expectRefused(bob, seg0, (c) => deletedContentOn(c.docs.get(seg0)!.doc, 'messages', id), 'not-author');
  });
});

describe('an update must integrate at once', () => {
  it('refuses a clock gap (an edit at clock 1 without clock 0) instead of parking it', async () => {
    const own = new RawClient(server.wsUrl);
    await own.open(seg0, bob.token);
    const id = newId();
    const m: Message = { id, author: bob.id, text: 'bob original', createdAt: Date.now() };
    expect(await own.attempt(seg0, own.craft(seg0, (doc) => doc.getMap('messages').set(id, m)))).toEqual({ accepted: true, reason: null });
    await waitFor(() => messagesOf(witness.doc).has(id));
    own.close();

    // the same client writes two edits; only the second one is sent
    const c = new RawClient(server.wsUrl);
    await c.open(seg0, bob.token);
    const scratch = new Y.Doc();
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(c.docs.get(seg0)!.doc));
    scratch.clientID = freshClient();
    const sv0 = Y.encodeStateVector(scratch);
    scratch.getMap('messages').set(id, { ...m, text: 'first edit', editedAt: Date.now() });
    const sv1 = Y.encodeStateVector(scratch);
    scratch.getMap('messages').set(id, { ...m, text: 'resurrected later', editedAt: Date.now() + 1 });
    const gap = Y.encodeStateAsUpdate(scratch, sv1);
    const before = snapshotOf(serverDoc(seg0));
    expect(await c.attempt(seg0, gap)).toEqual({ accepted: false, reason: 'missing-dependency' });
    expect(serverDoc(seg0).store.pendingStructs).toBeNull();
    expect(snapshotOf(serverDoc(seg0))).toBe(before);
    c.close();

    // an admin deletes the message; the whole update (clock 0 and 1) is then refused as an edit of a deleted message
    witness.doc.getMap('messages').set(id, { ...m, text: '', deleted: true });
    await acked(witness.provider);
    await expectRefused(bob, seg0, Y.encodeStateAsUpdate(scratch, sv0), 'forbidden');
    expect(messagesOf(serverDoc(seg0)).get(id)).toMatchObject({ deleted: true, text: '' });
  });

  it('accepts the same edits sent contiguously (positive control)', async () => {
    const id = newId();
    const m: Message = { id, author: bob.id, text: 'bob writes', createdAt: Date.now() };
    await expectAccepted(bob, seg0, (c) => c.craft(seg0, (doc) => {
      doc.getMap('messages').set(id, m);
      doc.getMap('messages').set(id, { ...m, text: 'bob edits', editedAt: Date.now() });
    }));
    await waitFor(() => messagesOf(witness.doc).get(id)?.text === 'bob edits');
  });
});

describe('the server\'s own Yjs client id', () => {
  it('is refused from a client', async () => {
    const serverClient = serverDoc(seg0).clientID;
    const m: Message = { id: newId(), author: bob.id, text: 'as the server', createdAt: Date.now() };
    await expectRefused(bob, seg0, (c) => c.craft(seg0, (doc) => doc.getMap('messages').set(m.id, m), serverClient), 'client-id-taken');
  });

  it('is bound to the server in SQLite once it has written', () => {
    const doc = serverDoc(seg0);
    expect(server.app.services.repos.documents.clientOwner(seg0, doc.clientID)).toBe('@server');
  });
});

describe('message ids are unique per room', () => {
  let original: string;
  let seg1: string;
  let witness1: OpenDoc;

  beforeAll(async () => {
    original = post(witness.doc, alice.id, 'the original, in segment 0');
    await acked(witness.provider);
    await waitFor(() => receiptsOf(witness.doc).has(original));
    // a membership change in a `joined` room seals segment 0 and opens segment 1
    const carol = await makeUser(server);
    expect((await apiClient(server.url, alice.token)('POST', `/api/rooms/${roomId}/members`, { userIds: [carol.id] })).status).toBeLessThan(300);
    await waitFor(() => server.app.services.rooms.openSegmentOf(roomId) === 1);
    seg1 = `room:${roomId}:1`;
    witness1 = await openDoc(witness.provider.configuration.websocketProvider, seg1, alice.token);
  });

  it('refuses an earlier segment\'s id posted into the open segment', async () => {
    const fake: Message = { id: original, author: bob.id, text: 'impostor', createdAt: Date.now() };
    await expectRefused(bob, seg1, (c) => c.craft(seg1, (doc) => doc.getMap('messages').set(original, fake)), 'duplicate-id', witness1.doc);
  });

  it('refuses the open segment\'s id written into a sealed segment', async () => {
    const id = post(witness1.doc, alice.id, 'in the open segment');
    await acked(witness1.provider);
    await waitFor(() => receiptsOf(witness1.doc).has(id));
    const fake: Message = { id, author: bob.id, text: 'impostor in the old segment', createdAt: Date.now() };
    await expectRefused(bob, seg0, (c) => c.craft(seg0, (doc) => doc.getMap('messages').set(id, fake)), 'duplicate-id');
  });

  it('moves a fresh id written into the sealed segment, with a receipt (positive control)', async () => {
    const id = newId();
    const m: Message = { id, author: bob.id, text: 'written offline into segment 0', createdAt: Date.now() };
    await expectAccepted(bob, seg0, (c) => c.craft(seg0, (doc) => doc.getMap('messages').set(id, m)));
    await waitFor(() => receiptsOf(witness1.doc).get(id)?.seq !== undefined, { message: 'moved with a receipt' });
    await waitFor(() => receiptsOf(witness.doc).get(id)?.movedTo === 1, { message: 'original marked' });
    expect(server.app.services.rooms.messageSegment(roomId, id)).toBe(1);
  });
});

describe('typing and presence are throttled per user', () => {
  it('relays one typing event for six rooms typed into at once on one socket', async () => {
    const rooms = await Promise.all(Array.from({ length: 6 }, () => makeRoom(bob, [alice])));
    const aliceSocket = connectSocket(server.wsUrl);
    const bobSocket = connectSocket(server.wsUrl);
    const got: string[] = [];
    const heads = await Promise.all(rooms.map((r) => openDoc(aliceSocket, `room:${r.id}`, alice.token)));
    for (const h of heads) h.provider.on('stateless', ({ payload }: { payload: string }) => JSON.parse(payload).t === 'typing' && got.push(h.provider.configuration.name));
    const bobHeads = await Promise.all(rooms.map((r) => openDoc(bobSocket, `room:${r.id}`, bob.token)));
    for (const h of bobHeads) h.provider.sendStateless(JSON.stringify({ t: 'typing' }));
    await waitFor(() => got.length >= 1, { message: 'the first typing event' });
    // a marker sent after the burst on the same socket: once it is relayed, the burst has been handled
    const seen: unknown[] = [];
    const pres = await openDoc(aliceSocket, 'presence', alice.token);
    pres.provider.on('stateless', ({ payload }: { payload: string }) => void seen.push(JSON.parse(payload)));
    const bobPres = await openDoc(bobSocket, 'presence', bob.token);
    bobPres.provider.sendStateless(JSON.stringify({ t: 'away', away: true }));
    await waitFor(() => seen.some((m) => (m as { u?: string; s?: string }).u === bob.id && (m as { s: string }).s === 'away'), { message: 'away marker' });
    expect(got).toHaveLength(1);
    aliceSocket.destroy();
    bobSocket.destroy();
  });

  it('broadcasts a burst of away toggles as at most two changes, ending in the final state', async () => {
    const [u, watcher] = await Promise.all([makeUser(server), makeUser(server)]);
    const wSocket = connectSocket(server.wsUrl);
    const w = await openDoc(wSocket, 'presence', watcher.token);
    const seen: { u: string; s: string }[] = [];
    w.provider.on('stateless', ({ payload }: { payload: string }) => {
      const m = JSON.parse(payload);
      if (m.t === 'presence' && m.u === u.id) seen.push(m);
    });
    const uSocket = connectSocket(server.wsUrl);
    const p = await openDoc(uSocket, 'presence', u.token);
    await waitFor(() => seen.some((m) => m.s === 'online'), { message: 'online' });
    seen.length = 0;
    for (let i = 0; i < 100; i++) p.provider.sendStateless(JSON.stringify({ t: 'away', away: i % 2 === 0 }));
    // 100 toggles end on away = false (i = 99): the user is online again
    p.provider.sendStateless(JSON.stringify({ t: 'away', away: true }));
    await waitFor(() => seen.at(-1)?.s === 'away', { message: 'final state away', timeout: 4000 });
    expect(seen.length).toBeLessThanOrEqual(2);
    wSocket.destroy();
    uSocket.destroy();
  });
});
