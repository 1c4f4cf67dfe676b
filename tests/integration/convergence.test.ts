/**
 * Seeded convergence at the protocol level: several real providers write, edit and delete while their
 * sockets drop and come back, and segments are sealed under them. At the end every client shows the
 * same messages in the same order, and no write is lost. The seed is printed; rerun a failure with
 * CONVERGENCE_SEED=<seed>.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { startServer, makeUser, makeRoom, waitFor, sleep, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, newId, type OpenDoc } from '../helpers/collab.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { mergeTimeline } from '../../src/lib/protocol/timeline.ts';
import { readServerDoc } from '../../server/collab/server-writes.ts';
import type { Message, Receipt, SegmentInfo } from '../../src/lib/protocol/schema.ts';

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each segment of the room as the server holds it (loaded through a server connection if needed). */
async function serverSegments(server: TestServer, roomId: string) {
  const out = new Map<number, { messages: Map<string, Message>; receipts: Map<string, Receipt> }>();
  for (const { n } of server.app.services.repos.rooms.segments(roomId)) {
    out.set(n, await readServerDoc(server.app.collab.hocuspocus, `room:${roomId}:${n}`, (doc) => ({
      messages: new Map(doc.getMap<Message>('messages').entries()),
      receipts: new Map(doc.getMap<Receipt>('receipts').entries()),
    })));
  }
  return out;
}

class SimClient {
  socket: HocuspocusProviderWebsocket;
  head!: OpenDoc;
  segments = new Map<number, OpenDoc>();
  online = true;
  constructor(private server: TestServer, public user: TestUser, private roomId: string) {
    this.socket = connectSocket(server.wsUrl);
  }
  async start() {
    this.head = await openDoc(this.socket, `room:${this.roomId}`, this.user.token);
    await this.openNewSegments();
  }
  async openNewSegments() {
    if (!this.online) return;
    const known = [...this.head.doc.getMap<SegmentInfo>('segments').keys()].map(Number);
    for (const n of known) {
      if (this.segments.has(n)) continue;
      const d = await openDoc(this.socket, `room:${this.roomId}:${n}`, this.user.token);
      if (!d.denied.length) this.segments.set(n, d);
    }
  }
  view() {
    return mergeTimeline([...this.segments].map(([n, d]) => ({ n, messages: d.doc.getMap<Message>('messages').entries(), receipts: d.doc.getMap<Receipt>('receipts') })));
  }
  /** The segment this client believes is open (stale while offline). */
  openSegment(): OpenDoc {
    const n = this.head.doc.getMap('room').get('openSegment') as number;
    return this.segments.get(n) ?? this.segments.get(Math.max(...this.segments.keys()))!;
  }
  async setOnline(on: boolean) {
    if (on === this.online) return;
    this.online = on;
    if (on) {
      void this.socket.connect();
      await waitFor(() => this.socket.status === 'connected', { message: 'reconnect' });
    } else {
      this.socket.disconnect();
      await waitFor(() => this.socket.status === 'disconnected', { message: 'disconnect' });
    }
  }
  refusals() {
    return [...this.segments.values(), this.head].flatMap((d) => [...d.closes, ...d.denied]);
  }
  idle() {
    return [...this.segments.values()].every((d) => !d.provider.hasUnsyncedChanges);
  }
}

// Fixed seeds by default so that CI is reproducible; explore with CONVERGENCE_SEED=<n> (or `random`).
// 685891 once left two clients without messages the server had moved into a segment whose instance
// was loaded and unloaded ~20 times in 200 ms by the move path; server writes now keep documents warm.
const seedEnv = process.env.CONVERGENCE_SEED;
const seeds = seedEnv === 'random' ? [Date.now() % 1_000_000] : seedEnv ? [Number(seedEnv)] : [20261124, 685891];
let server: TestServer;
beforeAll(async () => {
  console.log(`convergence seeds: ${seeds.join(', ')} (rerun one with CONVERGENCE_SEED=<seed>)`);
  server = await startServer({ segmentMaxMessages: 12 }, { rateLimits: { ...TEST_LIMITS, messages: { ...RATE_LIMITS.messages, points: 10_000 } } });
});
afterAll(() => server.close());

describe.each(seeds)('convergence (seed %i)', (seed) => {
  it(`converges with no loss under random writes, edits, deletes and disconnects (seed ${seed})`, async () => {
    const random = mulberry32(seed);
    const pick = <T,>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    const users = await Promise.all([0, 1, 2, 3].map(() => makeUser(server)));
    const room = await makeRoom(users[0], users.slice(1));
    const clients = users.map((u) => new SimClient(server, u, room.id));
    await Promise.all(clients.map((c) => c.start()));

    // the author's last write of each message is what everyone must end up with
    const expected = new Map<string, { text: string; deleted: boolean }>();
    for (let step = 0; step < 160; step++) {
      const c = pick(clients);
      const r = random();
      if (r < 0.12) {
        await c.setOnline(!c.online);
        if (c.online) await c.openNewSegments();
      } else if (r < 0.65) {
        const id = newId();
        const text = `s${step} ${c.user.username} 메시지`;
        c.openSegment().doc.getMap<Message>('messages').set(id, { id, author: c.user.id, text, createdAt: Date.now() });
        expected.set(id, { text, deleted: false });
      } else {
        const own = c.view().filter((e) => e.message.author === c.user.id && !e.message.deleted && !e.message.system);
        if (!own.length) continue;
        const entry = pick(own);
        const map = c.segments.get(entry.segment)!.doc.getMap<Message>('messages');
        if (r < 0.88) {
          const text = `${entry.message.text} (edit ${step})`;
          map.set(entry.message.id, { ...entry.message, text, editedAt: Date.now() });
          expected.set(entry.message.id, { text, deleted: false });
        } else {
          map.set(entry.message.id, { ...entry.message, text: '', deleted: true });
          expected.set(entry.message.id, { text: '', deleted: true });
        }
      }
      if (random() < 0.3) await sleep(Math.floor(random() * 25));
      if (c.online && random() < 0.2) await c.openNewSegments();
    }

    for (const c of clients) await c.setOnline(true);
    const signature = (c: SimClient) => c.view().map((e) => `${e.message.id}|${e.message.text}|${e.message.deleted ? 'x' : ''}|${e.receipt?.seq ?? '-'}`).join('\n');
    const diagnose = () => clients.map((c) => ({
      user: c.user.username, online: c.online, status: c.socket.status, idle: c.idle(), refusals: c.refusals(),
      view: c.view().length, pending: c.view().filter((e) => !e.receipt).length, segments: [...c.segments.keys()],
      unsynced: [...c.segments].map(([n, d]) => `${n}:${d.provider.unsyncedChanges}:${d.provider.isSynced}`),
    }));
    await waitFor(async () => {
      for (const c of clients) await c.openNewSegments();
      if (!clients.every((c) => c.idle())) return false;
      const sigs = clients.map(signature);
      return sigs.every((s) => s === sigs[0]) && clients[0].view().filter((e) => !e.message.system).length === expected.size && clients[0].view().every((e) => e.receipt);
    }, { timeout: 20_000, interval: 100, message: `convergence (seed ${seed})` }).catch((e) => {
      console.log('expected', expected.size, JSON.stringify(diagnose(), null, 1));
      const full = clients.reduce((a, c) => (c.view().length > a.view().length ? c : a));
      for (const c of clients) {
        const ids = new Set(c.view().map((e) => e.message.id));
        const missing = full.view().filter((e) => !ids.has(e.message.id)).map((e) => ({ seg: e.segment, seq: e.receipt?.seq, id: e.message.id, author: e.message.author.slice(0, 4) }));
        const segSizes = [...c.segments].map(([n, d]) => `${n}:${d.doc.getMap('messages').size}/${d.doc.getMap('receipts').size}`);
        console.log('client', c.user.username, 'missing', JSON.stringify(missing), segSizes.join(' '));
      }
      throw e;
    });

    expect(clients.flatMap((c) => c.refusals())).toEqual([]);
    const view = clients[0].view();
    // the server's raw segment documents (not the merged view, which dedupes and sorts by
    // construction): every message counts in exactly one segment, with a receipt; seqs are unique in
    // the room; a `movedTo` marker points at a segment that holds the copy; authors' order holds
    const raw = await serverSegments(server, room.id);
    const counted = new Map<string, { n: number; message: Message; receipt: Receipt }>();
    for (const [n, seg] of raw) {
      for (const [id, message] of seg.messages) {
        const receipt = seg.receipts.get(id);
        expect(receipt, `receipt of ${id} in segment ${n}`).toBeDefined();
        if (receipt!.movedTo !== undefined) {
          expect(raw.get(receipt!.movedTo)?.receipts.get(id)?.movedTo, `copy of ${id} in ${receipt!.movedTo}`).toBeUndefined();
          expect(raw.get(receipt!.movedTo)?.messages.has(id)).toBe(true);
          continue;
        }
        expect(counted.has(id), `message ${id} counted twice`).toBe(false);
        counted.set(id, { n, message, receipt: receipt! });
      }
    }
    // everything the clients wrote, and the server's one line of the group's creation
    expect([...counted.values()].filter((c) => !c.message.system).length).toBe(expected.size);
    expect([...counted.values()].filter((c) => c.message.system).map((c) => c.message.system!.type)).toEqual(['members']);
    const roomSeqs = [...counted.values()].map((c) => c.receipt.seq);
    expect(new Set(roomSeqs).size).toBe(roomSeqs.length);
    const byAuthor = new Map<string, { createdAt: number; seq: number }[]>();
    for (const c of counted.values()) {
      if (c.message.system) continue;
      const list = byAuthor.get(c.message.author) ?? [];
      list.push({ createdAt: c.message.createdAt, seq: c.receipt.seq });
      byAuthor.set(c.message.author, list);
    }
    for (const [author, list] of byAuthor) {
      const bySeq = [...list].sort((a, b) => a.seq - b.seq).map((x) => x.createdAt);
      expect(bySeq, `writing order of ${author}`).toEqual([...bySeq].sort((a, b) => a - b));
    }
    for (const [id, want] of expected) {
      const got = view.find((e) => e.message.id === id);
      expect(got, `message ${id}`).toBeDefined();
      expect({ text: got!.message.text, deleted: !!got!.message.deleted }).toEqual(want);
    }
    console.log(`convergence: ${view.length} messages over ${clients[0].segments.size} segments, identical on ${clients.length} clients`);
    for (const c of clients) c.socket.destroy();
  }, 60_000);
});
