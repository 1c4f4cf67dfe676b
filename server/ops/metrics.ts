/**
 * `GET /metrics` in the Prometheus text format (prom-client). No per-room or per-user labels:
 * only process-wide figures. Protected by `METRICS_TOKEN` (as a bearer token), or, without one,
 * answered only to loopback clients.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';

export function createMetrics(d: { dataDir: string; token: string | null; connections: () => number; documents: () => number }) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry }); // includes event-loop lag, memory, GC
  const size = (f: string) => {
    try {
      return fs.statSync(path.join(d.dataDir, f)).size;
    } catch {
      return 0;
    }
  };
  new client.Gauge({ name: 'messenger_connections', help: 'Open /collab sockets', registers: [registry], collect() { this.set(d.connections()); } });
  new client.Gauge({ name: 'messenger_documents', help: 'Loaded documents', registers: [registry], collect() { this.set(d.documents()); } });
  new client.Gauge({ name: 'messenger_sqlite_bytes', help: 'Size of the database file', registers: [registry], collect() { this.set(size('messenger.db')); } });
  new client.Gauge({ name: 'messenger_sqlite_wal_bytes', help: 'Size of the write-ahead log', registers: [registry], collect() { this.set(size('messenger.db-wal')); } });
  const accepted = new client.Counter({ name: 'messenger_updates_accepted_total', help: 'Client document updates accepted', registers: [registry] });
  const refused = new client.Counter({ name: 'messenger_updates_refused_total', help: 'Client document updates refused, by code', labelNames: ['code'], registers: [registry] });
  const rateLimited = new client.Counter({ name: 'messenger_rate_limited_total', help: 'Requests and updates refused by a rate limit, by limit', labelNames: ['limit'], registers: [registry] });
  const commit = new client.Histogram({
    name: 'messenger_commit_seconds', help: 'Duration of one group commit (all durable writes of an event-loop turn)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1], registers: [registry],
  });
  const commitOps = new client.Histogram({ name: 'messenger_commit_operations', help: 'Operations per group commit', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500], registers: [registry] });

  const fanout = new client.Histogram({
    name: 'messenger_fanout_seconds', help: 'How long frames for other members (and acknowledgements) waited for their write to be durable: per socket and release, the oldest frame',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1], registers: [registry],
  });

  const loopback = (ip: string | undefined) => !!ip && (ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1');

  return {
    accepted: () => accepted.inc(),
    refused: (code: string) => {
      refused.inc({ code });
      if (code === 'rate-limited') rateLimited.inc({ limit: 'messages' });
    },
    rateLimited: (limit: string) => rateLimited.inc({ limit }),
    fanout: (seconds: number) => fanout.observe(seconds),
    committed: (seconds: number, ops: number) => {
      commit.observe(seconds);
      commitOps.observe(ops);
    },
    async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const auth = String(req.headers.authorization ?? '');
      const allowed = d.token ? auth === `Bearer ${d.token}` : loopback(req.socket.remoteAddress);
      if (!allowed) {
        res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        return void res.end(JSON.stringify({ error: { code: 'not-found', message: 'Not found.' } }));
      }
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      res.end(await registry.metrics());
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
