/** Small pieces shared by the bench: the server child handle, real provider clients, statistics. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { SEGMENT_MESSAGES, type Message } from '../src/lib/protocol/schema.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(fn: () => boolean, { timeout = 10_000, interval = 10, message = 'condition' } = {}): Promise<void> {
  const start = performance.now();
  while (!fn()) {
    if (performance.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${message}`);
    await sleep(interval);
  }
}

// ---- the server child ------------------------------------------------------------------------

export interface ChildStats {
  rss: number;
  heapUsed: number;
  external: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  uptimeMs: number;
  /** App server only: write-queue batches committed and operations in them, so far. */
  queueBatches?: number;
  queueOps?: number;
}

const CHILD_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server-child.ts');

export class ServerChild {
  private nextId = 1;
  private pending = new Map<number, (msg: any) => void>();
  private exited: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
    readonly info: Record<string, unknown>,
  ) {
    proc.on('message', (msg: any) => {
      const cb = msg && typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
      if (cb) {
        this.pending.delete(msg.id);
        cb(msg);
      }
    });
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null) resolve(proc.exitCode);
      else proc.once('exit', (code) => resolve(code));
    });
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.port}/collab`;
  }
  get httpUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  static start(mode: 'app' | 'bare', env: Record<string, string> = {}): Promise<ServerChild> {
    // BENCH_CPU_PROF=1 writes a V8 CPU profile of every server child to .bench/prof/ (for interpretation)
    // (one directory per child; the largest file in it is the main thread, others are loader threads)
    const profDir = path.join(process.cwd(), '.bench', 'prof', `${Date.now()}-${mode}${env.SQLITE_SYNCHRONOUS ? '-' + env.SQLITE_SYNCHRONOUS : ''}`);
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
    const proc = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', ...prof, CHILD_FILE], {
      cwd: process.cwd(),
      env: { ...process.env, ...env, BENCH_MODE: mode },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`server child (${mode}) did not start within 30 s`));
      }, 30_000);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server child (${mode}) exited with ${code} before it was ready`));
      });
      proc.on('message', function onReady(msg: any) {
        if (msg?.type !== 'ready') return;
        clearTimeout(timer);
        proc.off('message', onReady);
        proc.removeAllListeners('exit');
        resolve(new ServerChild(proc, msg.port, msg));
      });
    });
  }

  request<T = any>(cmd: string, extra: Record<string, unknown> = {}, timeout = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`server child did not answer ${cmd}`));
      }, timeout);
      this.pending.set(id, (msg) => {
        clearTimeout(timer);
        if (msg.error) reject(new Error(msg.error));
        else resolve(msg as T);
      });
      this.proc.send({ id, cmd, ...extra });
    });
  }

  /** Memory after a full GC (and CPU time so far). */
  stats(): Promise<ChildStats> {
    return this.request<ChildStats>('stats');
  }

  /** CPU time so far, without a GC (for CPU use over an interval). */
  cpu(): Promise<ChildStats> {
    return this.request<ChildStats>('stats', { gc: false });
  }

  /** Graceful stop (the app compacts its documents); SIGKILL if it has not exited after 10 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      this.proc.send({ id: 0, cmd: 'stop' });
    } catch {
      /* channel already closed */
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---- clients ---------------------------------------------------------------------------------

export interface Client {
  socket: HocuspocusProviderWebsocket;
  provider: HocuspocusProvider;
  doc: Y.Doc;
  closes: string[];
  denied: string[];
  destroy(): void;
}

/** One socket and one provider on it, as a browser tab with one room open; waits for the first sync. */
export async function connectClient(wsUrl: string, name: string, token: string, { wait = true, timeout = 20_000 } = {}): Promise<Client> {
  const socket = new HocuspocusProviderWebsocket({ url: wsUrl, WebSocketPolyfill: WebSocket, delay: 100, minDelay: 50, maxDelay: 1000 } as never);
  const doc = new Y.Doc();
  const closes: string[] = [];
  const denied: string[] = [];
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name,
    document: doc,
    token,
    awareness: null,
    onClose: ({ event }) => {
      if (event.reason) closes.push(event.reason);
    },
    onAuthenticationFailed: ({ reason }) => void denied.push(reason),
  });
  provider.attach();
  const client: Client = {
    socket,
    provider,
    doc,
    closes,
    denied,
    destroy() {
      provider.destroy();
      socket.destroy();
      doc.destroy();
    },
  };
  if (wait) {
    try {
      await waitFor(() => provider.isSynced || denied.length > 0, { timeout, message: `first sync of ${name}` });
    } catch (e) {
      client.destroy();
      throw e;
    }
    if (denied.length) {
      client.destroy();
      throw new Error(`${name}: authentication refused (${denied.join(', ')})`);
    }
  }
  return client;
}

/** Connects many clients a few at a time (our server caps sockets that have not authenticated yet per IP). */
export async function connectMany<C extends { destroy(): void }>(n: number, batch: number, make: (i: number) => Promise<C>): Promise<C[]> {
  const out: C[] = [];
  try {
    for (let i = 0; i < n; i += batch) {
      const part = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => make(i + k)));
      out.push(...part);
    }
  } catch (e) {
    for (const c of out) c.destroy();
    throw e;
  }
  return out;
}

// ---- messages --------------------------------------------------------------------------------

/** ~40 Hangul syllables plus punctuation: the typical chat message of NOTES-STACK.md (~170 B encoded). */
export const TEXT = '안녕하세요, 오늘 회의는 오후 세 시에 삼층 대회의실에서 합니다. 자료는 미리 읽어 주세요';

export const messagesOf = (doc: Y.Doc) => doc.getMap<Message>(SEGMENT_MESSAGES);

export function post(doc: Y.Doc, id: string, author: string, text = TEXT): void {
  messagesOf(doc).set(id, { id, author, text, createdAt: Date.now() });
}

// ---- statistics ------------------------------------------------------------------------------

export interface Dist {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function dist(values: ArrayLike<number>): Dist {
  const a = Float64Array.from(values).sort();
  const q = (p: number) => (a.length ? a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))] : NaN);
  let sum = 0;
  for (const v of a) sum += v;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: a.length, p50: r(q(0.5)), p90: r(q(0.9)), p99: r(q(0.99)), max: r(a.length ? a[a.length - 1] : NaN), mean: r(a.length ? sum / a.length : NaN) };
}

export const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

// ---- machine load ----------------------------------------------------------------------------

/** Busy and total jiffies of the whole machine (Linux /proc/stat); null elsewhere. */
export function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [, ...nums] = line.trim().split(/\s+/);
    const v = nums.map(Number); // user nice system idle iowait irq softirq steal guest guest_nice
    const idle = v[3] + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** CPU used by the whole machine between two samples, in % of one core (200 = both of 2 cores busy). */
export function machineCpuPct(a: ReturnType<typeof machineTicks>, b: ReturnType<typeof machineTicks>): number | null {
  if (!a || !b || b.total === a.total) return null;
  return Math.round(((b.busy - a.busy) / (b.total - a.total)) * os.availableParallelism() * 100);
}

// ---- HTTP API (our server only) --------------------------------------------------------------

export async function api<T = any>(baseUrl: string, method: string, pathname: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(baseUrl + pathname, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

// ---- frame-timing receivers ------------------------------------------------------------------

/**
 * A receiver that times frames without a Y.Doc: one raw socket, the Hocuspocus handshake by hand,
 * and every incoming sync frame scanned for message ids (`marker` followed by a fixed-width number).
 * A provider re-encodes every incoming update for its own document; 200 of them in one process
 * saturate the load generator long before the server (NOTES-STACK), so the fan-out scenario measures
 * with these. The first frame that names an id is its delivery (its receipt comes later).
 */
export interface FrameReceiver {
  seen: Set<string>;
  onId: ((id: string) => void) | null;
  destroy(): void;
}

export async function connectFrameReceiver(wsUrl: string, name: string, token: string, marker: string, digits: number, timeout = 20_000): Promise<FrameReceiver> {
  const ws = new WebSocket(wsUrl);
  const frame = (write: (e: encoding.Encoder) => void) => {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, name);
    write(e);
    return encoding.toUint8Array(e);
  };
  const needle = Buffer.from(marker);
  const r: FrameReceiver = { seen: new Set(), onId: null, destroy: () => ws.terminate() };
  let synced = false;
  ws.on('message', (data: Buffer) => {
    if (data.length === 1) return; // keep-alive PING (the server does not need our PONG here)
    const dec = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    decoding.readVarString(dec);
    const type = decoding.readVarUint(dec);
    if (type === 2) return; // auth answer
    if (type === 0 || type === 4) {
      const sub = decoding.readVarUint(dec);
      if (sub === 1) synced = true;
    }
    for (let at = data.indexOf(needle); at !== -1; at = data.indexOf(needle, at + needle.length + digits)) {
      const id = data.toString('latin1', at, at + needle.length + digits);
      if (r.seen.has(id)) continue;
      r.seen.add(id);
      r.onId?.(id);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(frame((e) => {
    encoding.writeVarUint(e, 2); // Auth
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, token);
  }));
  ws.send(frame((e) => {
    encoding.writeVarUint(e, 0); // Sync
    encoding.writeVarUint(e, 0); // step 1
    encoding.writeVarUint8Array(e, Y.encodeStateVector(new Y.Doc()));
  }));
  await waitFor(() => synced, { timeout, message: `frame receiver sync of ${name}` });
  return r;
}
