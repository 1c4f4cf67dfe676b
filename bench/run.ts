/**
 * `npm run bench`: fan-out latency, sustained accepted messages per second, memory per idle socket
 * and cold segment load, against our real server (SQLITE_SYNCHRONOUS=FULL and NORMAL) and against a
 * bare Hocuspocus v4 server. Each server runs in its own child process (bench/server-child.ts);
 * this process is the load generator with real @hocuspocus/provider clients, one socket each.
 *
 * Writes .bench/report.json and .bench/report.md and prints the table. See docs/BENCHMARKS.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as Y from 'yjs';
import Database from 'better-sqlite3';
import { ServerChild, connectClient, connectFrameReceiver, connectMany, type FrameReceiver, machineTicks, machineCpuPct, post, messagesOf, dist, mb, api, sleep, waitFor, TEXT, type Client, type Dist, type ChildStats } from './lib.ts';
import { SEGMENT_RECEIPTS } from '../src/lib/protocol/schema.ts';
import { RATE_LIMITS } from '../server/http/rate-limits.ts';
import { sealsUnderLoad, type SealResult } from './seals.ts';

// ---- parameters (fixed defaults so that runs are comparable; env to tune) -------------------

function envNum(key: string, fallback: number): number {
  const raw = process.env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${key} must be a positive number, got "${raw}"`);
  return n;
}

const P = {
  members: Math.round(envNum('BENCH_MEMBERS', 200)), // receiving members in the fan-out room (plus 1 sender)
  rate: envNum('BENCH_RATE', 20), // fan-out: messages per second from the sender
  fanoutSeconds: envNum('BENCH_FANOUT_SECONDS', 10),
  writers: Math.round(envNum('BENCH_WRITERS', 20)), // throughput: writers, each in its own room
  window: Math.round(envNum('BENCH_WINDOW', 4)), // throughput: unacknowledged messages per writer
  writeSeconds: envNum('BENCH_WRITE_SECONDS', 10),
  loadMessages: Math.round(envNum('BENCH_LOAD_MESSAGES', 2000)), // cold-load: messages in the segment
  connectBatch: 10, // sockets opened at once (our server allows 20 unauthenticated sockets per IP)
  drainMs: 15_000,
  sealWriters: Math.round(envNum('BENCH_SEAL_WRITERS', 50)), // (c): writers in one room
  sealRate: envNum('BENCH_SEAL_RATE', 1200), // (c): messages per second in that room, all writers together
  sealSeconds: envNum('BENCH_SEAL_SECONDS', 10),
  /** How fan-out receivers listen: `frames` (raw sockets timing frames, no Y.Doc) or `providers`. */
  receivers: (process.env.BENCH_RECEIVERS ?? 'frames') as 'frames' | 'providers',
};

const ROOT = process.cwd();
const OUT_DIR = path.join(ROOT, '.bench');
const PASSWORD = 'bench-password-1';
const TAG = Date.now().toString(36);

interface User {
  id: string;
  token: string;
}

const log = (line: string) => console.log(line);
const LOOP_RESOLUTION_MS = 5;

// ---- the disk: what one durable SQLite commit costs here -------------------------------------

interface CommitCost {
  full: Dist;
  normal: Dist;
}

/** Single-row autocommit inserts of a 200-byte blob in WAL mode, as our persistence does per update. */
function commitCost(dir: string): CommitCost {
  const measure = (sync: 'FULL' | 'NORMAL') => {
    const file = path.join(dir, `commit-${sync}.db`);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${sync}`);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO t (data) VALUES (?)');
    const blob = Buffer.alloc(200, 7);
    for (let i = 0; i < 20; i++) insert.run(blob); // warm up
    const times: number[] = [];
    const start = performance.now();
    while (times.length < 2000 && performance.now() - start < 1500) {
      const t0 = performance.now();
      insert.run(blob);
      times.push((performance.now() - t0) * 1000);
    }
    db.close();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    return dist(times);
  };
  const r = { full: measure('FULL'), normal: measure('NORMAL') };
  log(`(e) one SQLite commit (WAL, 200 B insert): FULL p50 ${r.full.p50} µs, p99 ${r.full.p99} µs; NORMAL p50 ${r.normal.p50} µs, p99 ${r.normal.p99} µs`);
  return r;
}

// ---- scenario (a): fan-out -------------------------------------------------------------------

interface FanoutResult {
  receivers: number;
  messages: number;
  rate: number;
  expected: number;
  delivered: number;
  /** Every (message, receiver) pair. */
  latencyMs: Dist;
  /** Per message: the first receiver to see it (closest to server + network cost alone). */
  firstReceiverMs: Dist;
  /** Per message: the last of the receivers to see it. */
  lastReceiverMs: Dist;
  senderAckMs: Dist;
  sendSeconds: number;
  serverCpuPct: number;
  loadgenCpuPct: number;
  /** Machine CPU used by other processes during the run (Linux only), % of one core. */
  otherCpuPct: number | null;
  loadgenLoopDelayP99Ms: number;
  closes: number;
  idle: { sockets: number; rssPer100Mb: number; heapPer100Mb: number; heapExternalPer100Mb: number; rssBeforeMb: number; rssAfterMb: number };
}

async function fanout(label: string, child: ServerChild, docName: string, sender: User, receivers: User[]): Promise<FanoutResult> {
  const clients: Client[] = [];
  const receiversToClose: { destroy(): void }[] = [];
  try {
    const s = await connectClient(child.wsUrl, docName, sender.token);
    clients.push(s);
    await sleep(300);
    const before = await child.stats();
    // receivers: frame timers without a Y.Doc (default), or full providers (BENCH_RECEIVERS=providers)
    const marker = `f${TAG}n`;
    const frames = P.receivers === 'frames';
    const rs: { destroy(): void }[] = frames
      ? await connectMany(receivers.length, P.connectBatch, (i) => connectFrameReceiver(child.wsUrl, docName, receivers[i].token, marker, 6))
      : await connectMany(receivers.length, P.connectBatch, (i) => connectClient(child.wsUrl, docName, receivers[i].token));
    receiversToClose.push(...rs);
    await sleep(1000);
    const after = await child.stats();
    const idle = {
      sockets: rs.length,
      rssPer100Mb: mb(((after.rss - before.rss) / rs.length) * 100),
      heapPer100Mb: mb(((after.heapUsed - before.heapUsed) / rs.length) * 100),
      heapExternalPer100Mb: mb(((after.heapUsed + after.external - before.heapUsed - before.external) / rs.length) * 100),
      rssBeforeMb: mb(before.rss),
      rssAfterMb: mb(after.rss),
    };

    const total = Math.round(P.rate * P.fanoutSeconds);
    const expected = total * rs.length;
    const sentAt = new Map<string, number>();
    const latencies = new Float64Array(expected);
    // per message: the first and the last receiver to see it
    const first = new Map<string, number>();
    const last = new Map<string, number>();
    let delivered = 0;
    const arrived = (key: string, now: number) => {
      const t0 = sentAt.get(key);
      if (t0 === undefined) return;
      if (delivered < expected) latencies[delivered] = now - t0;
      delivered++;
      if (!first.has(key)) first.set(key, now - t0);
      last.set(key, now - t0);
    };
    for (const c of rs) {
      if (frames) {
        (c as FrameReceiver).onId = (id) => arrived(id, performance.now());
        continue;
      }
      messagesOf((c as Client).doc).observe((e) => {
        const now = performance.now();
        for (const key of e.keysChanged) if (e.changes.keys.get(key)?.action === 'add') arrived(key, now);
      });
    }
    const ackQueue: number[] = [];
    const ackLatencies: number[] = [];
    let prev = s.provider.unsyncedChanges;
    s.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
      const now = performance.now();
      for (let k = number; k < prev; k++) {
        const t0 = ackQueue.shift();
        if (t0 !== undefined) ackLatencies.push(now - t0);
      }
      prev = number;
    });

    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    loop.enable();
    const cpu0 = await child.cpu();
    const own0 = process.cpuUsage();
    const m0 = machineTicks();
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const wait = t0 + (i * 1000) / P.rate - performance.now();
      if (wait > 0) await sleep(wait);
      const id = `f${TAG}n${i.toString().padStart(6, '0')}`;
      const now = performance.now();
      sentAt.set(id, now);
      ackQueue.push(now);
      post(s.doc, id, sender.id);
    }
    const sendSeconds = (performance.now() - t0) / 1000;
    await waitFor(() => delivered >= expected && ackLatencies.length >= total, { timeout: P.drainMs, message: 'fan-out delivery' }).catch(() => {});
    const wall = performance.now() - t0;
    const cpu1 = await child.cpu();
    const own1 = process.cpuUsage(own0);
    const m1 = machineTicks();
    loop.disable();
    const serverCpuPct = cpuPct(cpu0, cpu1, wall);
    const loadgenCpuPct = Math.round(((own1.user + own1.system) / 1000 / wall) * 100);

    const r: FanoutResult = {
      receivers: rs.length,
      messages: total,
      rate: P.rate,
      expected,
      delivered,
      latencyMs: dist(latencies.subarray(0, Math.min(delivered, expected))),
      firstReceiverMs: dist([...first.values()]),
      lastReceiverMs: dist([...last.values()]),
      senderAckMs: dist(ackLatencies),
      sendSeconds: Math.round(sendSeconds * 100) / 100,
      serverCpuPct,
      loadgenCpuPct,
      otherCpuPct: otherCpu(m0, m1, serverCpuPct, loadgenCpuPct),
      // the histogram records the whole sampling interval: subtract the resolution to get the lag
      loadgenLoopDelayP99Ms: Math.max(0, Math.round((loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) * 10) / 10),
      closes: clients.reduce((n, c) => n + c.closes.length, 0),
      idle,
    };
    log(
      `(a) fan-out  ${label.padEnd(12)} ${rs.length} receivers, ${total} msgs @ ${P.rate}/s: delivered ${delivered}/${expected}, ` +
        `latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms; sender ack p50 ${r.senderAckMs.p50} ms; ` +
        `server CPU ${r.serverCpuPct}%; idle sockets: ${idle.heapExternalPer100Mb} MB heap+external, ${idle.rssPer100Mb} MB RSS per 100`,
    );
    noteOtherLoad(r.otherCpuPct);
    return r;
  } finally {
    for (const c of clients) c.destroy();
    for (const r of receiversToClose) r.destroy();
    await sleep(200);
  }
}

/** CPU that neither the server child nor this process used (other programs on the machine). */
function otherCpu(m0: ReturnType<typeof machineTicks>, m1: ReturnType<typeof machineTicks>, server: number, loadgen: number): number | null {
  const machine = machineCpuPct(m0, m1);
  return machine === null ? null : Math.max(0, machine - server - loadgen);
}

function noteOtherLoad(pct: number | null) {
  if (pct !== null && pct >= 20) log(`    NOTE: other processes used ~${pct}% of a core during this scenario: its figures are disturbed`);
}

function cpuPct(a: ChildStats, b: ChildStats, wallMs: number): number {
  return Math.round(((b.cpuUserUs - a.cpuUserUs + b.cpuSystemUs - a.cpuSystemUs) / 1000 / wallMs) * 100);
}

// ---- scenario (b): sustained accepted messages per second ------------------------------------

interface ThroughputResult {
  writers: number;
  window: number;
  seconds: number;
  acceptedInWindow: number;
  perSecond: number;
  sent: number;
  ackedTotal: number;
  ackMs: Dist;
  maxPerRoom: number;
  serverCpuPct: number;
  loadgenCpuPct: number;
  otherCpuPct: number | null;
  closes: string[];
}

async function throughput(label: string, child: ServerChild, writers: { user: User; docName: string }[]): Promise<ThroughputResult> {
  let clients: Client[] = [];
  try {
    clients = await connectMany(writers.length, P.connectBatch, (i) => connectClient(child.wsUrl, writers[i].docName, writers[i].user.token));
    await waitFor(() => clients.every((c) => c.provider.unsyncedChanges === 0), { message: 'writers idle' });
    await sleep(300);

    let running = false;
    let tEnd = Infinity;
    let acceptedInWindow = 0;
    let ackedTotal = 0;
    const ackLatencies: number[] = [];
    const state = clients.map((c, w) => {
      const st = { c, w, sent: 0, prev: 0, queue: [] as number[], scheduled: false };
      const topUp = () => {
        st.scheduled = false;
        while (running && c.provider.unsyncedChanges < P.window) {
          const id = `w${TAG}x${w}n${st.sent.toString().padStart(7, '0')}`;
          st.queue.push(performance.now());
          post(c.doc, id, writers[w].user.id);
          st.sent++;
        }
      };
      c.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
        if (number < st.prev) {
          const now = performance.now();
          const n = st.prev - number;
          ackedTotal += n;
          if (now <= tEnd) acceptedInWindow += n;
          for (let k = 0; k < n; k++) {
            const t0 = st.queue.shift();
            if (t0 !== undefined) ackLatencies.push(now - t0);
          }
          if (running && !st.scheduled) {
            st.scheduled = true;
            setImmediate(topUp);
          }
        }
        st.prev = number;
      });
      return { st, topUp };
    });

    const cpu0 = await child.cpu();
    const own0 = process.cpuUsage();
    const m0 = machineTicks();
    const t0 = performance.now();
    tEnd = t0 + P.writeSeconds * 1000;
    running = true;
    for (const { topUp } of state) topUp();
    await sleep(P.writeSeconds * 1000);
    running = false;
    const wall = performance.now() - t0;
    const cpu1 = await child.cpu();
    const own1 = process.cpuUsage(own0);
    const m1 = machineTicks();
    const serverCpuPct = cpuPct(cpu0, cpu1, wall);
    const loadgenCpuPct = Math.round(((own1.user + own1.system) / 1000 / wall) * 100);
    const sent = state.reduce((n, { st }) => n + st.sent, 0);
    await waitFor(() => ackedTotal >= sent, { timeout: P.drainMs, message: 'all acknowledgements' }).catch(() => {});

    const r: ThroughputResult = {
      writers: clients.length,
      window: P.window,
      seconds: P.writeSeconds,
      acceptedInWindow,
      perSecond: Math.round(acceptedInWindow / P.writeSeconds),
      sent,
      ackedTotal,
      ackMs: dist(ackLatencies),
      maxPerRoom: Math.max(...state.map(({ st }) => st.sent)),
      serverCpuPct,
      loadgenCpuPct,
      otherCpuPct: otherCpu(m0, m1, serverCpuPct, loadgenCpuPct),
      closes: clients.flatMap((c) => c.closes),
    };
    log(
      `(b) accepted ${label.padEnd(12)} ${r.writers} writers x window ${r.window}, ${r.seconds} s: ${r.perSecond} msgs/s acknowledged ` +
        `(${acceptedInWindow} in window, ${ackedTotal}/${sent} after drain), ack p50 ${r.ackMs.p50} ms, p99 ${r.ackMs.p99} ms; server CPU ${r.serverCpuPct}%` +
        (r.closes.length ? `; CLOSES: ${[...new Set(r.closes)].join(',')}` : ''),
    );
    noteOtherLoad(r.otherCpuPct);
    const bound = typeof child.info.segmentMaxMessages === 'number' ? child.info.segmentMaxMessages : Infinity;
    if (r.maxPerRoom >= bound) {
      log(`    WARNING: a room received ${r.maxPerRoom} messages; its segment was sealed at ${bound} and later messages were moved (slower). Use more writers or fewer seconds.`);
    }
    return r;
  } finally {
    for (const c of clients) c.destroy();
    await sleep(200);
  }
}

// ---- optional: cold load of a full segment ---------------------------------------------------

interface SegmentLoadResult {
  messages: number;
  stateBytes: number;
  serverLoadBytes: number;
  /** openDirectConnection of the unloaded segment, first in a freshly started server (cold JIT). */
  serverLoadFreshProcessMs: number;
  /** The same, median of 4 more loads after the segment was unloaded again (warm process). */
  serverLoadWarmMs: number;
  /** A new client's connect + first sync until it holds every message, freshly started server. */
  clientSyncFreshProcessMs: number;
  /** The same, median of 3 more (warm process, segment unloaded before each). */
  clientSyncWarmMs: number;
}

/** Fills one segment with `loadMessages` messages from 10 authors, restarts, then measures loading it from SQLite. */
async function segmentLoad(startChild: () => Promise<ServerChild>, owner: User, authors: User[]): Promise<SegmentLoadResult> {
  let child = await startChild();
  let clients: Client[] = [];
  let docName: string;
  try {
    const { room } = await api<{ room: { id: string; openSegment: number } }>(child.httpUrl, 'POST', '/api/rooms', { name: 'load', memberIds: authors.map((a) => a.id) }, owner.token);
    docName = `room:${room.id}:${room.openSegment}`;
    const writers = [owner, ...authors];
    clients = await connectMany(writers.length, P.connectBatch, (i) => connectClient(child.wsUrl, docName, writers[i].token));
    const batch = 50;
    let posted = 0;
    for (let round = 0; posted < P.loadMessages; round++) {
      for (let w = 0; w < writers.length && posted < P.loadMessages; w++) {
        const c = clients[w];
        const n = Math.min(batch, P.loadMessages - posted);
        c.doc.transact(() => {
          for (let k = 0; k < n; k++) post(c.doc, `l${TAG}w${w}r${round}k${k}`, writers[w].id, `${TEXT} ${posted + k}`);
        });
        posted += n;
        await waitFor(() => c.provider.unsyncedChanges === 0, { message: 'fill acknowledged' });
      }
    }
    await waitFor(() => clients[0].doc.getMap(SEGMENT_RECEIPTS).size >= P.loadMessages, { message: 'receipts of the filled segment' });
  } finally {
    for (const c of clients) c.destroy();
    await sleep(300);
    await child.stop();
  }

  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  const round1 = (x: number) => Math.round(x * 10) / 10;

  // server only: openDirectConnection (SQLite read + merge + Y.Doc + afterLoadDocument hooks), first in
  // a fresh process, then again after each unload in the now warm process
  child = await startChild();
  const serverMs: number[] = [];
  let serverLoadBytes = 0;
  try {
    for (let i = 0; i < 5; i++) {
      const load = await child.request<{ ms: number; bytes: number }>('load', { name: docName });
      serverMs.push(load.ms);
      serverLoadBytes = load.bytes;
    }
  } finally {
    await child.stop();
  }

  // a real client opening the segment: auth + server load + sync + apply on the client; first in a
  // fresh server process, then again (warm process, document unloaded after the previous client left)
  child = await startChild();
  const clientMs: number[] = [];
  let messages = 0;
  let stateBytes = 0;
  try {
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const c = await connectClient(child.wsUrl, docName, owner.token);
      try {
        await waitFor(() => messagesOf(c.doc).size >= P.loadMessages, { message: 'loaded messages' });
        clientMs.push(performance.now() - t0);
        messages = messagesOf(c.doc).size;
        stateBytes = Y.encodeStateAsUpdate(c.doc).byteLength;
      } finally {
        c.destroy();
      }
      const deadline = performance.now() + 10_000;
      while ((await child.request<{ loaded: boolean }>('loaded', { name: docName })).loaded && performance.now() < deadline) await sleep(20);
    }
  } finally {
    await child.stop();
  }
  const r: SegmentLoadResult = {
    messages,
    stateBytes,
    serverLoadBytes,
    serverLoadFreshProcessMs: round1(serverMs[0]),
    serverLoadWarmMs: round1(median(serverMs.slice(1))),
    clientSyncFreshProcessMs: round1(clientMs[0]),
    clientSyncWarmMs: round1(median(clientMs.slice(1))),
  };
  log(
    `(d) segment load: ${messages} messages (${Math.round(stateBytes / 1024)} KiB state): server-side load ${r.serverLoadFreshProcessMs} ms in a fresh process, ` +
      `${r.serverLoadWarmMs} ms warm; a client's first sync ${r.clientSyncFreshProcessMs} ms fresh, ${r.clientSyncWarmMs} ms warm`,
  );
  return r;
}

// ---- setup helpers (our server) --------------------------------------------------------------

async function registerUsers(child: ServerChild, n: number): Promise<User[]> {
  const users: User[] = new Array(n);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const body = await api<{ user: { id: string }; token: string }>(child.httpUrl, 'POST', '/api/register', { username: `b${TAG}_${i}`, password: PASSWORD });
      users[i] = { id: body.user.id, token: body.token };
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return users;
}

async function createRoom(child: ServerChild, owner: User, members: User[], name: string): Promise<string> {
  const { room } = await api<{ room: { id: string; openSegment: number } }>(child.httpUrl, 'POST', '/api/rooms', { name, memberIds: members.map((m) => m.id) }, owner.token);
  return `room:${room.id}:${room.openSegment}`;
}

async function oursScenarios(child: ServerChild, users: User[], label: string) {
  const [sender, ...rest] = users;
  const receivers = rest.slice(0, P.members);
  const fanRoom = await createRoom(child, sender, receivers, `fan-out ${label}`);
  const writerUsers = rest.slice(0, P.writers);
  const writers = [];
  for (const u of writerUsers) writers.push({ user: u, docName: await createRoom(child, u, [sender], `writer ${label}`) });
  const a = await fanout(label, child, fanRoom, sender, receivers);
  const b = await throughput(label, child, writers);
  return { a, b };
}

// ---- main ------------------------------------------------------------------------------------

function machine() {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: (git(['status', '--porcelain']) ?? '').length > 0,
  };
}

async function main() {
  const started = performance.now();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(process.env.BENCH_DATA_DIR ?? OUT_DIR, 'data-'));
  const m = machine();
  log(`bench: node ${m.node}, ${m.cpus} CPUs (${m.cpuModel}); load average ${m.loadAverageAtStart.join(' ')}; data in ${path.relative(ROOT, dataDir) || dataDir}`);
  const q0 = machineTicks();
  const own = process.cpuUsage();
  const tq = performance.now();
  await sleep(2000);
  const ownUsed = process.cpuUsage(own);
  const machineBusy = machineCpuPct(q0, machineTicks());
  const busyAtStart = machineBusy === null ? null : Math.max(0, Math.round(machineBusy - ((ownUsed.user + ownUsed.system) / 1000 / (performance.now() - tq)) * 100));
  if (busyAtStart !== null && busyAtStart >= 20) log(`bench: NOTE: the machine is busy (${busyAtStart}% of a core before the start); close other work for comparable figures`);
  log(`bench: ${P.members} receivers @ ${P.rate} msg/s for ${P.fanoutSeconds} s; ${P.writers} writers x window ${P.window} for ${P.writeSeconds} s`);
  log('bench: our server runs with every rate limit raised to 1e9 points (messages, backlog, auth, api, upgrade); nothing else changed');

  const children = new Set<ServerChild>();
  const start = async (mode: 'app' | 'bare', env: Record<string, string> = {}) => {
    const c = await ServerChild.start(mode, { DATA_DIR: dataDir, ...env });
    children.add(c);
    return c;
  };
  const results: Record<string, any> = {};
  if (process.env.BENCH_ONLY === 'fanout') {
    // (a) alone, ours FULL and the bare server in the same run
    try {
      const child = await start('app', { SQLITE_SYNCHRONOUS: process.env.SQLITE_SYNCHRONOUS ?? 'FULL' });
      const users = await registerUsers(child, P.members + 1);
      const room = await createRoom(child, users[0], users.slice(1), 'fan-out');
      await fanout('ours', child, room, users[0], users.slice(1));
      await child.stop();
      const bare = await start('bare');
      const fake = (i: number): User => ({ id: `bareuser${i}`, token: 'any' });
      await fanout('bare', bare, `room:bareFanout${TAG}:0`, fake(0), Array.from({ length: P.members }, (_, i) => fake(i + 1)));
      await bare.stop();
    } finally {
      for (const c of children) await c.stop().catch(() => {});
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    return;
  }
  if (process.env.BENCH_ONLY === 'throughput') {
    // (b) alone, ours FULL and the bare server in the same run: for working on the write path
    try {
      const child = await start('app', { SQLITE_SYNCHRONOUS: process.env.SQLITE_SYNCHRONOUS ?? 'FULL' });
      const users = await registerUsers(child, P.writers + 1);
      const writers = [];
      for (const u of users.slice(1)) writers.push({ user: u, docName: await createRoom(child, u, [users[0]], 'writer') });
      const ours = await throughput('ours', child, writers);
      await child.stop();
      const bare = await start('bare');
      const b = await throughput('bare', bare, Array.from({ length: P.writers }, (_, i) => ({ user: { id: `bareuser${i}`, token: 'any' }, docName: `room:bareWriter${TAG}${i}:0` })));
      await bare.stop();
      log(`(b) ours / bare: ${Math.round((ours.perSecond / b.perSecond) * 100) / 100}×`);
      if (ours.ackedTotal < ours.sent || ours.closes.length || b.ackedTotal < b.sent) process.exitCode = 1;
    } finally {
      for (const c of children) await c.stop().catch(() => {});
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    return;
  }
  try {
    results.commit = commitCost(dataDir);

    // our server, SQLITE_SYNCHRONOUS=FULL (the default)
    let child = await start('app', { SQLITE_SYNCHRONOUS: 'FULL' });
    const tReg = performance.now();
    const users = await registerUsers(child, Math.max(P.members, P.writers, P.sealWriters, 10) + 1);
    log(`setup: registered ${users.length} users in ${Math.round(performance.now() - tReg)} ms (argon2id each)`);
    const full = await oursScenarios(child, users, 'ours FULL');
    // (c) seals under load, in a freshly started server (the worst case)
    await child.stop();
    child = await start('app', { SQLITE_SYNCHRONOUS: 'FULL' });
    const sealRoom = (await createRoom(child, users[0], users.slice(1, P.sealWriters), 'seals')).split(':')[1];
    results.seals = await sealsUnderLoad(child, sealRoom, users.slice(0, P.sealWriters), { rate: P.sealRate, seconds: P.sealSeconds, tag: TAG, log });
    await child.stop();

    // the same database, SQLITE_SYNCHRONOUS=NORMAL; new rooms
    child = await start('app', { SQLITE_SYNCHRONOUS: 'NORMAL' });
    const normal = await oursScenarios(child, users, 'ours NORMAL');
    await child.stop();

    // cold load of a full segment (NORMAL, to fill it quickly; loading does not depend on it)
    const load = await segmentLoad(() => start('app', { SQLITE_SYNCHRONOUS: 'NORMAL' }), users[0], users.slice(1, 10));

    // bare Hocuspocus: no hooks, no persistence, no auth (any token)
    child = await start('bare');
    const fake = (i: number): User => ({ id: `bareuser${i}`, token: 'any' });
    const bareA = await fanout('bare', child, `room:bareFanout${TAG}:0`, fake(0), Array.from({ length: P.members }, (_, i) => fake(i + 1)));
    const bareB = await throughput(
      'bare',
      child,
      Array.from({ length: P.writers }, (_, i) => ({ user: fake(i + 1), docName: `room:bareWriter${TAG}${i}:0` })),
    );
    await child.stop();

    results.fanout = { oursFull: full.a, oursNormal: normal.a, bare: bareA };
    results.throughput = { oursFull: full.b, oursNormal: normal.b, bare: bareB };
    results.segmentLoad = load;
  } finally {
    for (const c of children) await c.stop().catch(() => {});
    if (!process.env.BENCH_KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
  }

  const report = {
    machine: { ...m, busyPctBeforeStart: busyAtStart },
    parameters: { ...P, messageText: TEXT },
    serverChanges: {
      rateLimits: 'our server runs with every rate limit raised to 1e9 points (messages, backlog, auth, api, upgrade) so that one load generator can act as hundreds of users from one IP; hooks, validation, receipts and durable writes are unchanged',
      productionLimits: RATE_LIMITS,
    },
    results,
    durationSeconds: Math.round((performance.now() - started) / 1000),
  };
  const md = markdown(report);
  fs.writeFileSync(path.join(OUT_DIR, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(OUT_DIR, 'report.md'), md + '\n');
  log('');
  log(md);
  log('');
  log(`bench: done in ${report.durationSeconds} s; wrote .bench/report.json and .bench/report.md`);
  const fan = Object.values(results.fanout as Record<string, FanoutResult>);
  const thr = Object.values(results.throughput as Record<string, ThroughputResult>);
  const seal = results.seals as SealResult;
  if (fan.some((r) => r.delivered < r.expected || r.closes > 0) || thr.some((r) => r.ackedTotal < r.sent || r.closes.length > 0) || seal.outstandingAfterDrain > 0 || seal.orderViolations > 0 || seal.closes.length > 0) {
    console.error('bench: INCOMPLETE: some messages were not delivered or acknowledged, or a connection was closed (see above)');
    process.exitCode = 1;
  }
}

function markdown(report: { machine: ReturnType<typeof machine>; results: Record<string, any> }): string {
  const { fanout: a, throughput: b, segmentLoad: d, commit: e, seals: c } = report.results as {
    seals: SealResult;
    fanout: Record<'oursFull' | 'oursNormal' | 'bare', FanoutResult>;
    throughput: Record<'oursFull' | 'oursNormal' | 'bare', ThroughputResult>;
    segmentLoad: SegmentLoadResult;
    commit: CommitCost;
  };
  const ratio = (x: number, y: number) => (y ? `${Math.round((x / y) * 100) / 100}×` : 'n/a');
  const row = (name: string, f: (r: any) => number | string, g: Record<string, any>, withRatio = true) => {
    const full = f(g.oursFull);
    const bare = f(g.bare);
    return `| ${name} | ${full} | ${f(g.oursNormal)} | ${bare} | ${withRatio && typeof full === 'number' && typeof bare === 'number' ? ratio(full, bare) : ''} |`;
  };
  const m = report.machine;
  return [
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB, Node ${m.node}, ${m.platform}; load average at start ${m.loadAverageAtStart.join(' ')}; commit ${m.commit}${m.dirty ? ' (dirty)' : ''}; ${m.date}`,
    '',
    '| metric | ours FULL | ours NORMAL | bare Hocuspocus | ours FULL / bare |',
    '|---|---|---|---|---|',
    `| **(a) fan-out**: ${a.bare.receivers} receivers, ${a.bare.messages} msgs at ${a.bare.rate}/s | | | | |`,
    row('delivered / expected', (r) => `${r.delivered} / ${r.expected}`, a, false),
    row('delivery latency p50 (ms)', (r) => r.latencyMs.p50, a),
    row('delivery latency p99 (ms)', (r) => r.latencyMs.p99, a),
    row('delivery latency max (ms)', (r) => r.latencyMs.max, a),
    row('per message, first receiver p50 / p99 (ms)', (r) => `${r.firstReceiverMs.p50} / ${r.firstReceiverMs.p99}`, a, false),
    row('per message, last receiver p50 / p99 (ms)', (r) => `${r.lastReceiverMs.p50} / ${r.lastReceiverMs.p99}`, a, false),
    row('sender ack p50 / p99 (ms)', (r) => `${r.senderAckMs.p50} / ${r.senderAckMs.p99}`, a, false),
    row('server CPU during run (%)', (r) => r.serverCpuPct, a),
    row('load generator CPU (%) / loop delay p99 (ms)', (r) => `${r.loadgenCpuPct} / ${r.loadgenLoopDelayP99Ms}`, a, false),
    row('other processes on the machine, CPU (%)', (r) => r.otherCpuPct ?? 'n/a', a, false),
    row('server RSS per 100 idle sockets (MB, noisy)', (r) => r.idle.rssPer100Mb, a),
    row('server JS heap + external per 100 idle sockets (MB)', (r) => r.idle.heapExternalPer100Mb, a),
    `| **(b) accepted msgs/s**: ${b.bare.writers} writers × window ${b.bare.window}, ${b.bare.seconds} s | | | | |`,
    row('acknowledged messages / s', (r) => r.perSecond, b),
    row('ack latency p50 (ms)', (r) => r.ackMs.p50, b),
    row('ack latency p99 (ms)', (r) => r.ackMs.p99, b),
    row('acked after drain / sent', (r) => `${r.ackedTotal} / ${r.sent}`, b, false),
    row('server CPU during run (%)', (r) => r.serverCpuPct, b),
    row('load generator CPU during run (%)', (r) => r.loadgenCpuPct, b, false),
    row('other processes on the machine, CPU (%)', (r) => r.otherCpuPct ?? 'n/a', b, false),
    row('most messages in one room', (r) => r.maxPerRoom, b, false),
    row('refusals / closes', (r) => r.closes.length, b, false),
    '',
    `**(c) seals under load** (ours FULL, fresh server): ${c.writers} writers in one room, ${c.sent} messages at ${c.rate}/s for ${c.seconds} s, ` +
      `${c.segments} segments, ${c.moved} messages moved into the open segment. Receipt latency (post → author sees its receipt) ` +
      `p50 ${c.receiptMs.p50} ms, p99 ${c.receiptMs.p99} ms, max ${c.receiptMs.max} ms; ${c.outstandingAfterDrain} without a receipt ${c.drainMs} ms after the last write; ` +
      `${c.orderViolations} per-author order violations; ${c.closes.length} refusals.`,
    '',
    `Loading a sealed segment from SQLite (ours): ${d.messages} messages, ${Math.round(d.stateBytes / 1024)} KiB of Yjs state. ` +
      `Server-side load (openDirectConnection): ${d.serverLoadFreshProcessMs} ms in a freshly started process, ${d.serverLoadWarmMs} ms warm. ` +
      `A client's connect + first sync: ${d.clientSyncFreshProcessMs} ms fresh, ${d.clientSyncWarmMs} ms warm.`,
    '',
    `One SQLite commit on this disk (WAL, 200 B insert): FULL p50 ${e.full.p50} µs / p99 ${e.full.p99} µs; NORMAL p50 ${e.normal.p50} µs / p99 ${e.normal.p99} µs.`,
    '',
    'Our server ran with every rate limit raised (messages, auth, api, upgrade) and nothing else changed. CPU % is of one core.',
  ].join('\n');
}

main().then(
  () => {
    // everything is closed; if a stray handle kept us alive, say so instead of hanging
    setTimeout(() => {
      console.error('bench: a handle is still open after the report; exiting');
      process.exit(0);
    }, 3000).unref();
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
