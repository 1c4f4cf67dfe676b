/**
 * Issue 12 §4: a `/collab` fuzzer with a fixed (printed) seed. A room member who is the attacker
 * sends random frames and mutated Yjs sync messages built from real updates (another member's
 * messages, accepted or never sent, and a few refusable ones of its own): bit flips, cut and spliced
 * bytes, wrong message types, garbage state vectors, updates to the read-only head, garbage tokens.
 * The server never crashes, neither document changes by a single byte, the honest member connected
 * all along never hears of any of it, and its own message still goes through afterwards.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, waitFor, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { newId } from '../helpers/collab.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { SEGMENT_MESSAGES, type Message } from '../../src/lib/protocol/schema.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 1212);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 300);
console.log(`fuzz-collab seed ${SEED}, ${ROUNDS} rounds (FUZZ_SEED=…, FUZZ_ROUNDS=… to replay)`);

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));

/** Hocuspocus message types and sync steps (docs/PROTOCOL.md). */
const T = { Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3, SyncReply: 4, Stateless: 5, Close: 7 } as const;
const STEP = { One: 0, Two: 1, Update: 2 } as const;

function frame(name: string, type: number, write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, name);
  encoding.writeVarUint(e, type);
  write(e);
  return encoding.toUint8Array(e);
}
const syncFrame = (name: string, step: number, payload: Uint8Array) => frame(name, T.Sync, (e) => {
  encoding.writeVarUint(e, step);
  encoding.writeVarUint8Array(e, payload);
});

/** Random damage to real bytes: flips, cuts, insertions, splices with another update. */
function mutate(src: Uint8Array, other: Uint8Array): Uint8Array {
  const out = Array.from(src);
  const edits = 1 + int(4);
  for (let i = 0; i < edits; i++) {
    const at = int(Math.max(out.length, 1));
    switch (int(6)) {
      case 0: out[at] = (out[at] ?? 0) ^ (1 << int(8)); break; // one bit
      case 1: out[at] = int(256); break; // one byte
      case 2: out.splice(at, 1 + int(8)); break; // a cut
      case 3: out.splice(at, 0, ...bytes(1 + int(8))); break; // an insertion
      case 4: out.length = at; break; // truncated
      default: out.splice(at, 0, ...Array.from(other.subarray(int(other.length)))); // spliced
    }
  }
  return Uint8Array.from(out.map((b) => b & 0xff));
}

let server: TestServer;
let alice: TestUser; // the attacker: a member of the room
let bob: TestUser; // the honest member
let roomId: string;
let seg: string;
let head: string;

beforeAll(async () => {
  server = await startServer({}, { rateLimits: { ...TEST_LIMITS, messages: { ...RATE_LIMITS.messages, points: 100_000 } }, backlogGraceMs: 0 });
  [alice, bob] = [await makeUser(server), await makeUser(server)];
  roomId = (await makeRoom(alice, [bob])).id;
  seg = `room:${roomId}:0`;
  head = `room:${roomId}`;
});
afterAll(() => server.close());

const serverDoc = (name: string) => server.app.collab.hocuspocus.documents.get(name) as unknown as Y.Doc | undefined;
const post = (author: string, text: string) => (doc: Y.Doc) => {
  const id = newId();
  doc.getMap<Message>(SEGMENT_MESSAGES).set(id, { id, author, text, createdAt: Date.now() });
};

describe(`/collab under a fuzzer (seed ${SEED})`, () => {
  it('never crashes, never changes a document, never disturbs an honest member', async () => {
    // the honest member, connected all along, with a few real messages of its own
    const honest = new RawClient(server.wsUrl);
    await honest.open(seg, bob.token);
    await honest.open(head, bob.token);
    const sources: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      const u = honest.craft(seg, post(bob.id, `진짜 메시지 ${i} from bob`));
      expect(await honest.attempt(seg, u)).toEqual({ accepted: true, reason: null });
      sources.push(u);
    }
    // and updates never sent: another member's (forged author), an edit and a deletion of bob's message, a too long one
    sources.push(honest.craft(seg, post(bob.id, 'never sent')));
    const bobMessageId = [...honest.docs.get(seg)!.doc.getMap<Message>(SEGMENT_MESSAGES).keys()][0];
    sources.push(honest.craft(seg, (d) => {
      const m = d.getMap<Message>(SEGMENT_MESSAGES);
      m.set(bobMessageId, { ...m.get(bobMessageId)!, text: 'edited by someone else', editedAt: Date.now() });
    }));
    sources.push(honest.craft(seg, (d) => d.getMap<Message>(SEGMENT_MESSAGES).delete(bobMessageId)));
    sources.push(honest.craft(seg, post(alice.id, 'x'.repeat(server.app.services.config.maxMessageChars + 1))));

    // the server's own follow-ups (receipts, the head's mirror) have reached the honest replica
    const same = (name: string) => Buffer.from(Y.encodeStateVector(serverDoc(name)!)).equals(Buffer.from(Y.encodeStateVector(honest.docs.get(name)!.doc)));
    await waitFor(() => same(seg) && same(head), { message: 'the honest replicas to catch up' });
    const before = { seg: Y.encodeStateAsUpdate(serverDoc(seg)!), head: Y.encodeStateAsUpdate(serverDoc(head)!) };
    let heard = 0;
    for (const name of [seg, head]) honest.docs.get(name)!.doc.on('update', () => heard++);

    // the attacker: a fresh client whenever the server closed the previous one
    let attacker: RawClient | null = null;
    const live = async (): Promise<RawClient> => {
      if (attacker && !attacker.socketClosed && attacker.docs.get(seg)?.closed === null && attacker.docs.get(seg)?.authenticated) return attacker;
      attacker?.close();
      const c = new RawClient(server.wsUrl);
      const d = await c.open(seg, alice.token, { sync: false });
      expect(d.authenticated, 'the attacker is a member').toBe(true);
      attacker = c;
      return c;
    };

    const names = [seg, head, `room:${roomId}:1`, 'presence', `user:${alice.id}`, `user:${bob.id}`, '', '\u0000', 'room:%%', `room:${roomId}:-1`];
    const kinds: Record<string, () => Uint8Array | string> = {
      'random frame': () => bytes(int(200)),
      'random type on a document': () => frame(pick(names), int(20), (e) => encoding.writeUint8Array(e, bytes(int(64)))),
      'mutated update': () => syncFrame(seg, STEP.Update, mutate(pick(sources), pick(sources))),
      'mutated step 2': () => syncFrame(seg, STEP.Two, mutate(pick(sources), pick(sources))),
      'real update of another member': () => syncFrame(seg, pick([STEP.Update, STEP.Two]), pick(sources)),
      'update to the read-only head': () => syncFrame(head, STEP.Update, rand() < 0.5 ? pick(sources) : mutate(pick(sources), pick(sources))),
      'garbage state vector': () => syncFrame(pick([seg, head]), STEP.One, bytes(int(40))),
      'unknown sync step': () => syncFrame(seg, 3 + int(250), pick(sources)),
      'garbage auth': () => frame(pick(names), T.Auth, (e) => {
        encoding.writeVarUint(e, int(4));
        encoding.writeVarString(e, rand() < 0.5 ? String.fromCharCode(...bytes(int(300))) : `${bob.token.split('.')[0]}.guess`);
      }),
      'garbage awareness': () => frame(seg, T.Awareness, (e) => encoding.writeVarUint8Array(e, bytes(int(100)))),
      'garbage stateless': () => frame(pick([seg, head, 'presence']), T.Stateless, (e) => encoding.writeVarString(e, pick(['{', '{"t":"typing","u":"' + bob.id + '"}', '{"t":"away","away":"yes"}', 'x'.repeat(500)]))),
      'text frame': () => pick(['hello', '{"type":"sync"}', '\u0000']),
      'truncated varint': () => Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
    };
    const kindNames = Object.keys(kinds);
    const sent: Record<string, number> = {};

    for (let round = 0; round < ROUNDS; round++) {
      const c = await live();
      const kind = pick(kindNames);
      sent[kind] = (sent[kind] ?? 0) + 1;
      const payload = kinds[kind]();
      if (c.ws.readyState === WebSocket.OPEN) c.ws.send(payload, { binary: typeof payload !== 'string' });
      // a round trip on the same document: the server has dealt with the frame (or closed on it)
      const d = c.docs.get(seg)!;
      d.synced = false;
      if (c.ws.readyState === WebSocket.OPEN) c.ws.send(syncFrame(seg, STEP.One, Y.encodeStateVector(new Y.Doc())));
      await waitFor(() => d.synced || d.closed !== null || c.socketClosed !== null, { message: `round ${round} (${kind})` });
    }
    (attacker as RawClient | null)?.close();
    console.log('fuzz-collab frames sent by kind', sent);
    expect(Object.keys(sent).length).toBe(kindNames.length);

    // every attacker socket is gone, then the honest member's round trip: all the fuzz has been handled
    await waitFor(() => server.app.collab.sockets.all.size === 1, { message: 'the attacker sockets to close' });
    const h = honest.docs.get(seg)!;
    h.synced = false;
    honest.ws.send(syncFrame(seg, STEP.One, Y.encodeStateVector(h.doc)));
    await waitFor(() => h.synced, { message: 'the honest round trip' });

    expect(Buffer.from(Y.encodeStateAsUpdate(serverDoc(seg)!)).equals(Buffer.from(before.seg)), 'the segment is unchanged').toBe(true);
    expect(Buffer.from(Y.encodeStateAsUpdate(serverDoc(head)!)).equals(Buffer.from(before.head)), 'the head is unchanged').toBe(true);
    expect(heard, 'the honest member heard nothing of the fuzz').toBe(0);
    expect(honest.socketClosed).toBeNull();
    expect(honest.docs.get(seg)!.closed).toBeNull();

    // positive control: the honest member's message still goes through, and the document changes by it
    const control = honest.craft(seg, post(bob.id, '퍼징 뒤에도 잘 가요'));
    expect(await honest.attempt(seg, control)).toEqual({ accepted: true, reason: null });
    await waitFor(() => [...serverDoc(seg)!.getMap<Message>(SEGMENT_MESSAGES).values()].some((m) => m.text === '퍼징 뒤에도 잘 가요'), { message: 'the control message on the server' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    honest.close();
  }, 120_000);
});
