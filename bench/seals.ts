/**
 * Scenario (c), seals under load (issue 7 item 12): one room with many writers at a high total rate,
 * so the open segment seals every second or two. Every writer follows the head's `openSegment` (as
 * the app does) and keeps writing into the segment it believes is open, so writes that race a seal
 * land in a sealed segment and are moved. Measured: receipt latency (post → the author sees its
 * receipt), how many messages were moved, per-author order of seqs, and what is still outstanding
 * after the run (a seal must not turn a burst into a backlog).
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { SEGMENT_MESSAGES, SEGMENT_RECEIPTS, type Message, type Receipt } from '../src/lib/protocol/schema.ts';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, dist, machineCpuPct, machineTicks, sleep, waitFor, ServerChild, TEXT, type Dist } from './lib.ts';

export interface SealResult {
  writers: number;
  rate: number;
  seconds: number;
  sent: number;
  receipted: number;
  outstandingAfterDrain: number;
  drainMs: number;
  moved: number;
  segments: number;
  orderViolations: number;
  receiptMs: Dist;
  closes: string[];
  serverCpuPct: number;
  loadgenCpuPct: number;
  /** Server CPU while the writers were sending (the figures above span the drain as well). */
  serverCpuSendPct: number;
  /** Machine CPU used by other processes during the run (Linux only), % of one core. */
  otherCpuPct: number | null;
  /** Write-queue batches committed during the run, and operations per batch. */
  batches: number | null;
  opsPerBatch: number | null;
}

/**
 * A writer without a Y.Doc that receives: a raw socket, documents opened by hand, and its writes
 * encoded from a local doc that holds only its own messages (a new key needs no origin). Incoming
 * frames are not decoded: 50 full providers at 1,200 msg/s would saturate this process long before
 * the server (load generator at 119 % of a core, server at 39 %, when this scenario used them).
 */
class RawWriter {
  ws: WebSocket;
  opened = new Set<number>();
  local = new Map<number, Y.Doc>();
  written: string[] = [];
  closes: string[] = [];
  constructor(url: string, private roomId: string, readonly userId: string, private token: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: Buffer) => {
      // only a document CLOSE (a refusal) matters here: type 7 after the name
      if (data.length < 3 || data.length > 512) return;
      const dec = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      decoding.readVarString(dec);
      if (decoding.readVarUint(dec) === 7) this.closes.push(decoding.readVarString(dec));
    });
  }
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  private send(name: string, write: (e: encoding.Encoder) => void) {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, name);
    write(e);
    this.ws.send(encoding.toUint8Array(e));
  }
  open(n: number) {
    if (this.opened.has(n)) return;
    this.opened.add(n);
    const name = `room:${this.roomId}:${n}`;
    this.send(name, (e) => {
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint(e, 0);
      encoding.writeVarString(e, this.token);
    });
    const doc = new Y.Doc();
    this.send(name, (e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint8Array(e, Y.encodeStateVector(doc));
    });
    doc.on('update', (update: Uint8Array) =>
      this.send(name, (e) => {
        encoding.writeVarUint(e, 0);
        encoding.writeVarUint(e, 2);
        encoding.writeVarUint8Array(e, update);
      }),
    );
    this.local.set(n, doc);
  }
  post(n: number, m: Message) {
    this.written.push(m.id);
    this.local.get(n)!.getMap<Message>(SEGMENT_MESSAGES).set(m.id, m);
  }
  close() {
    this.ws.terminate();
  }
}

export async function sealsUnderLoad(
  child: ServerChild,
  roomId: string,
  users: { id: string; token: string }[],
  opts: { rate: number; seconds: number; tag: string; log: (s: string) => void },
): Promise<SealResult> {
  const sentAt = new Map<string, number>();
  const receiptAt = new Map<string, number>();
  const seqOf = new Map<string, number>();
  let moved = 0;

  // one observer with full providers: sees the head (the open segment) and every receipt
  const socket = new HocuspocusProviderWebsocket({ url: child.wsUrl, WebSocketPolyfill: WebSocket, delay: 100, minDelay: 50, maxDelay: 1000 } as never);
  const headDoc = new Y.Doc();
  const head = new HocuspocusProvider({ websocketProvider: socket, name: `room:${roomId}`, document: headDoc, token: users[0].token, awareness: null });
  head.attach();
  const observed = new Map<number, HocuspocusProvider>();
  const observe = (n: number) => {
    if (observed.has(n)) return;
    const doc = new Y.Doc();
    const provider = new HocuspocusProvider({ websocketProvider: socket, name: `room:${roomId}:${n}`, document: doc, token: users[0].token, awareness: null });
    provider.attach();
    const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
    receipts.observe((e) => {
      const now = performance.now();
      for (const id of e.keysChanged) {
        const r = receipts.get(id);
        if (!r) continue;
        if (r.movedTo !== undefined) {
          moved++;
          continue;
        }
        seqOf.set(id, r.seq);
        if (sentAt.has(id) && !receiptAt.has(id)) receiptAt.set(id, now);
      }
    });
    observed.set(n, provider);
  };
  const writers: RawWriter[] = [];
  let open = 0;
  const follow = () => {
    const n = headDoc.getMap('room').get('openSegment') as number | undefined;
    if (n === undefined) return;
    open = n;
    // every segment up to the open one: when the head lags, messages are moved into segments that
    // were open only in between, and their receipts are there
    for (let k = 0; k <= n; k++) observe(k);
    for (const w of writers) w.open(n);
  };
  headDoc.getMap('room').observe(follow);
  await waitFor(() => head.isSynced, { message: 'head sync' });
  follow();
  await waitFor(() => [...observed.values()].every((p) => p.isSynced), { message: 'segment sync' });
  // in batches: a socket counts as unauthenticated (20 per IP) until its first document authenticates
  for (let i = 0; i < users.length; i += 10) {
    const batch = users.slice(i, i + 10).map((u) => new RawWriter(child.wsUrl, roomId, u.id, u.token));
    await Promise.all(batch.map((w) => w.ready()));
    for (const w of batch) w.open(open);
    writers.push(...batch);
    await sleep(100);
  }
  const closes = () => writers.flatMap((w) => w.closes);
  opts.log(`(c) seals     ${writers.length} writers connected; writing ${opts.rate} msg/s for ${opts.seconds} s`);

  const total = Math.round(opts.rate * opts.seconds);
  const cpu0 = await child.cpu();
  const own0 = process.cpuUsage();
  const ticks0 = machineTicks();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / opts.rate - performance.now();
    if (wait > 1) await sleep(wait);
    const w = writers[i % writers.length];
    const id = `s${opts.tag}w${String(i % writers.length).padStart(3, '0')}n${String(i).padStart(7, '0')}`;
    sentAt.set(id, performance.now());
    w.post(open, { id, author: w.userId, text: TEXT, createdAt: Date.now() });
  }
  const sendEnd = performance.now();
  // the server's CPU while the writers were sending (asked now; it answers when its loop is free)
  const cpuSend = await child.cpu();
  const sendWall = performance.now() - t0;
  const serverCpuSendPct = Math.round(((cpuSend.cpuUserUs - cpu0.cpuUserUs + cpuSend.cpuSystemUs - cpu0.cpuSystemUs) / 1000 / sendWall) * 100);
  await waitFor(() => receiptAt.size >= total, { timeout: 30_000, interval: 50, message: 'receipts' }).catch(() => {});
  const drainMs = Math.round(performance.now() - sendEnd);
  const wall = performance.now() - t0;
  const cpu1 = await child.cpu();
  const own = process.cpuUsage(own0);
  const serverCpuPct = Math.round(((cpu1.cpuUserUs - cpu0.cpuUserUs + cpu1.cpuSystemUs - cpu0.cpuSystemUs) / 1000 / wall) * 100);
  const loadgenCpuPct = Math.round(((own.user + own.system) / 1000 / wall) * 100);
  const machinePct = machineCpuPct(ticks0, machineTicks());
  const otherCpuPct = machinePct === null ? null : Math.max(0, machinePct - serverCpuPct - loadgenCpuPct);
  const batches = cpu1.queueBatches !== undefined && cpu0.queueBatches !== undefined ? cpu1.queueBatches - cpu0.queueBatches : null;
  const opsPerBatch = batches ? Math.round(((cpu1.queueOps! - cpu0.queueOps!) / batches) * 10) / 10 : null;

  let orderViolations = 0;
  for (const w of writers) {
    let last = -Infinity;
    for (const id of w.written) {
      const s = seqOf.get(id);
      if (s === undefined) continue;
      if (s < last) orderViolations++;
      last = Math.max(last, s);
    }
  }
  const lat = [...receiptAt].map(([id, at]) => at - sentAt.get(id)!);
  const segments = open + 1;
  for (const w of writers) w.close();
  for (const p of observed.values()) p.destroy();
  head.destroy();
  socket.destroy();
  const r: SealResult = {
    writers: writers.length, rate: opts.rate, seconds: opts.seconds, sent: total, receipted: receiptAt.size,
    outstandingAfterDrain: total - receiptAt.size, drainMs, moved, segments, orderViolations, receiptMs: dist(lat), closes: closes(),
    serverCpuPct, serverCpuSendPct, loadgenCpuPct, otherCpuPct, batches, opsPerBatch,
  };
  opts.log(
    `(c) seals     ${r.writers} writers, ${r.sent} msgs @ ${r.rate}/s: ${r.receipted} receipted (outstanding ${r.outstandingAfterDrain} after ${drainMs} ms), ` +
      `${r.segments} segments, ${r.moved} moved, ${r.orderViolations} order violations; receipt p50 ${r.receiptMs.p50} ms, p99 ${r.receiptMs.p99} ms; closes ${r.closes.length}; CPU server ${serverCpuPct}% (${serverCpuSendPct}% while sending), load generator ${loadgenCpuPct}%, other processes ${otherCpuPct ?? '?'}%; ${batches ?? '?'} commits, ${opsPerBatch ?? '?'} ops each`,
  );
  return r;
}

/**
 * Standalone: `RATE=2400 node --import tsx bench/seals.ts` runs scenario (c) alone against a fresh
 * server child (SQLITE_SYNCHRONOUS=FULL). Env: RATE (msg/s, default BENCH_SEAL_RATE or 1200), SECONDS
 * (default BENCH_SEAL_SECONDS or 10), WRITERS (default BENCH_SEAL_WRITERS or 50); BENCH_CPU_PROF=1
 * writes the server's CPU profile to .bench/prof/. Exits 1 when anything is outstanding, out of
 * order or refused.
 */
async function standalone() {
  const num = (keys: string[], fallback: number) => {
    for (const k of keys) if (process.env[k]) return Number(process.env[k]);
    return fallback;
  };
  const rate = num(['RATE', 'BENCH_SEAL_RATE'], 1200);
  const seconds = num(['SECONDS', 'BENCH_SEAL_SECONDS'], 10);
  const writers = Math.round(num(['WRITERS', 'BENCH_SEAL_WRITERS'], 50));
  const out = path.join(process.cwd(), '.bench');
  fs.mkdirSync(out, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(process.env.BENCH_DATA_DIR ?? out, 'seals-'));
  const tag = Date.now().toString(36);
  const log = (s: string) => console.log(s);
  let child: ServerChild | null = null;
  try {
    child = await ServerChild.start('app', { DATA_DIR: dataDir, SQLITE_SYNCHRONOUS: 'FULL' });
    const users: { id: string; token: string }[] = [];
    for (let i = 0; i < writers; i++) {
      const body = await api<{ user: { id: string }; token: string }>(child.httpUrl, 'POST', '/api/register', { username: `s${tag}_${i}`, password: 'bench-password-1' });
      users.push({ id: body.user.id, token: body.token });
    }
    await child.stop();
    // a freshly started server, as in `npm run bench`
    child = await ServerChild.start('app', { DATA_DIR: dataDir, SQLITE_SYNCHRONOUS: 'FULL' });
    const { room } = await api<{ room: { id: string } }>(child.httpUrl, 'POST', '/api/rooms', { name: 'seals', memberIds: users.slice(1).map((u) => u.id) }, users[0].token);
    const r = await sealsUnderLoad(child, room.id, users, { rate, seconds, tag, log });
    if (r.outstandingAfterDrain > 0 || r.orderViolations > 0 || r.closes.length > 0) process.exitCode = 1;
  } finally {
    await child?.stop().catch(() => {});
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  standalone().then(
    () => process.exit(),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
