/**
 * The server side of `npm run bench`, run in its own process so that the server and the load
 * generator do not share an event loop (spawned by bench/run.ts with an IPC channel).
 *
 * BENCH_MODE=app  — our real server (createApp: all hooks, SQLite persistence in DATA_DIR, with
 *                   SQLITE_SYNCHRONOUS from the environment). Only the rate limits are raised.
 * BENCH_MODE=bare — a bare Hocuspocus v4 `Server` with no hooks, no extensions, no persistence.
 *
 * Messages from the parent: {id, cmd: 'stats', gc?} (rss, heap and CPU time; after a full GC unless
 * gc is false),
 * {id, cmd: 'load', name} (app only: time to load a document that is not in memory via
 * openDirectConnection; it is unloaded again before the reply), {id, cmd: 'loaded', name},
 * {id, cmd: 'stop'} (graceful close, then exit). Replies carry the same id.
 */
import fs from 'node:fs';
if (process.env.BENCH_SQLPROF) await import('./sql-profile.ts');
import { performance as perf } from 'node:perf_hooks';
import pino from 'pino';
import * as Y from 'yjs';
import { Server } from '@hocuspocus/server';
import { loadConfig } from '../server/config.ts';
import { createApp } from '../server/index.ts';
import { RATE_LIMITS } from '../server/http/rate-limits.ts';
import { SEGMENT_MESSAGES } from '../src/lib/protocol/schema.ts';

/**
 * The only change to the production composition: every rate limit is lifted so that one machine
 * can act as hundreds of users from one IP at full speed. Hooks, validation, receipts and durable
 * writes are untouched.
 */
export const BENCH_RATE_LIMITS = {
  messages: { ...RATE_LIMITS.messages, points: 1e9 },
  auth: { ...RATE_LIMITS.auth, points: 1e9 },
  register: { ...RATE_LIMITS.register, points: 1e9 },
  documents: { ...RATE_LIMITS.documents, points: 1e9 },
  api: { ...RATE_LIMITS.api, points: 1e9 },
  upgrade: { ...RATE_LIMITS.upgrade, points: 1e9 },
  backlog: { ...RATE_LIMITS.backlog, points: 1e9 },
  upload: { ...RATE_LIMITS.upload, points: 1e9 },
};

type Request = { id: number; cmd: 'stats' | 'load' | 'loaded' | 'stop'; name?: string; gc?: boolean };

const send = (msg: unknown) => process.send?.(msg);
const gc = (globalThis as { gc?: () => void }).gc;

function stats(collect = true) {
  if (collect) {
    gc?.();
    gc?.();
  }
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, uptimeMs: process.uptime() * 1000 };
}

async function main() {
  const mode = process.env.BENCH_MODE;
  let stop: () => Promise<void>;
  let load: ((name: string) => Promise<unknown>) | null = null;
  let loaded: ((name: string) => boolean) | null = null;
  let port: number;
  /** Write-queue counters (app only): batches committed and operations in them. */
  let queueStats: () => Record<string, number> = () => ({});

  if (mode === 'app') {
    const dataDir = process.env.DATA_DIR;
    if (!dataDir || !fs.existsSync(dataDir)) throw new Error('DATA_DIR must name an existing directory');
    const config = loadConfig(process.env, { dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent' });
    const app = await createApp(config, { log: pino({ level: 'silent' }), rateLimits: BENCH_RATE_LIMITS });
    port = await app.listen(0, '127.0.0.1');
    stop = () => app.close();
    const hp = app.collab.hocuspocus;
    queueStats = () => ({ queueBatches: app.collab.queue.batches, queueOps: app.collab.queue.ops });
    if (process.env.BENCH_TRACE) {
      // once a second: commits, operations, event-loop use and what waits in Hocuspocus's queues
      let last = { b: 0, o: 0, s: 0, ms: 0, om: 0, elu: perf.eventLoopUtilization() };
      setInterval(() => {
        const q = app.collab.queue;
        const elu = perf.eventLoopUtilization(last.elu);
        const waiting: string[] = []; // per document: messages waiting in its connections' queues
        for (const doc of hp.documents.values()) {
          let n = 0;
          for (const c of doc.getConnections()) n += (c as unknown as { messageQueue: unknown[] }).messageQueue.length;
          if (n) waiting.push(`${doc.name.slice(doc.name.lastIndexOf(':') + 1)}:${n}`);
        }
        console.error(`trace: ${q.batches - last.b} commits (${Math.round(q.commitMs - last.ms)} ms, ops ${Math.round(q.opsMs - last.om)} ms), ${q.syncs - last.s} fsyncs, ${q.ops - last.o} ops, loop ${Math.round(elu.utilization * 100)}%, docs ${hp.documents.size}, queued ${waiting.join(' ')}`);
        last = { b: q.batches, o: q.ops, s: q.syncs, ms: q.commitMs, om: q.opsMs, elu: perf.eventLoopUtilization() };
      }, 1000).unref();
    }
    loaded = (name: string) => hp.documents.has(name);
    load = async (name: string) => {
      if (hp.documents.has(name)) throw new Error(`${name} is already loaded`);
      const t0 = performance.now();
      const conn = await hp.openDirectConnection(name, { server: 'read' });
      const ms = performance.now() - t0;
      let bytes = 0;
      let messages = 0;
      await conn.transact((doc) => {
        bytes = Y.encodeStateAsUpdate(doc).byteLength;
        messages = doc.getMap(SEGMENT_MESSAGES).size;
      });
      await conn.disconnect(); // unloads it again (after the store hook)
      for (let i = 0; i < 500 && hp.documents.has(name); i++) await new Promise((r) => setTimeout(r, 10));
      return { ms, bytes, messages };
    };
    send({ type: 'ready', port, synchronous: config.sqliteSynchronous, segmentMaxMessages: config.segmentMaxMessages });
  } else if (mode === 'bare') {
    const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: false });
    await server.listen();
    port = server.address.port;
    stop = () => server.destroy();
    send({ type: 'ready', port });
  } else {
    throw new Error(`BENCH_MODE must be app or bare, got ${mode}`);
  }

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(0), 5000);
    try {
      await stop();
    } finally {
      clearTimeout(timer);
      process.exit(0);
    }
  };

  process.on('message', async (req: Request) => {
    try {
      if (req.cmd === 'stats') send({ id: req.id, ...stats(req.gc !== false), ...queueStats() });
      else if (req.cmd === 'load') {
        if (!load || !req.name) throw new Error('load needs the app server and a document name');
        send({ id: req.id, ...((await load(req.name)) as object) });
      } else if (req.cmd === 'loaded') {
        send({ id: req.id, loaded: loaded?.(req.name ?? '') ?? false });
      } else if (req.cmd === 'stop') {
        send({ id: req.id, ok: true });
        await shutdown();
      }
    } catch (e) {
      send({ id: req.id, error: String(e) });
    }
  });
  // the parent went away: do not linger
  process.on('disconnect', () => void shutdown());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
