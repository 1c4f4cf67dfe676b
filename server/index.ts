/**
 * Composition root: opens the database, builds the services, creates Hocuspocus and the HTTP(S)
 * server, and routes `/api`, `/collab`, `/healthz` and the SvelteKit app on one port.
 */
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { openDatabase } from './db/database.ts';
import { immediateDurability, walDurability, type Fsync } from './db/wal-sync.ts';
import type { Config } from './config.ts';
import { buildServices, type Services } from './services.ts';
import { createCollab } from './collab/collab.ts';
import { createRouter, sendJson } from './http/router.ts';
import { appPolicy, isHttps, securityHeaders } from './http/security-headers.ts';
import { answerClientErrors } from './http/client-errors.ts';
import { apiRoutes } from './http/api.ts';
import { statsSource } from './ops/stats.ts';
import { createMetrics } from './ops/metrics.ts';
import { Maintenance } from './ops/maintenance.ts';
import type { RateLimits } from './http/rate-limits.ts';
import type { Clock, Ids } from './domain/deps.ts';
import { createBackupScheduler, takeServerLock } from './ops/backup.ts';
import { caCertHandler, redirectServer, resolveTls } from './tls/serve.ts';
import { authProviderRoutes, oidcHandler } from './http/oidc-routes.ts';

type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;

export interface AppOptions {
  /** The SvelteKit handler (production build) or Vite's middlewares (dev). Without it only the API is served. */
  appHandler?: NodeHandler | null;
  clock?: Clock;
  ids?: Ids;
  log?: Logger;
  rateLimits?: Partial<RateLimits>;
  /** How often expired polls are closed (ms). */
  pollSweepMs?: number;
  /** Updates this soon after a document (re)connects count as the offline backlog (tests shorten it). */
  backlogGraceMs?: number;
  /** Keep-alive timing (tests shorten it). */
  pingIntervalMs?: number;
  /** The fsync that makes the write queue's commits durable (tests hold it to see what waits for it). */
  walFsync?: Fsync;
  /** A failed fsync of the write queue (default: log and exit with code 70). */
  onDiskFatal?: (err: unknown) => void;
  idleTimeoutMs?: number;
  /** How often failed antivirus scans are retried (ms; tests shorten it). */
  scanRetryMs?: number;
  /** How often retention runs (ms; it also runs at start). */
  retentionMs?: number;
  /** How often maintenance runs (orphan uploads; ms). */
  maintenanceMs?: number;
  /** Dev: leave other upgrade requests (Vite's HMR socket) to other listeners. */
  passOtherUpgrades?: boolean;
  /** Interval of scheduled backups (ms; overrides BACKUP_EVERY_HOURS, tests shorten it). */
  backupEveryMs?: number;
}

export async function loadSvelteKitHandler(root = process.cwd()): Promise<NodeHandler | null> {
  const file = path.join(root, 'build', 'handler.js');
  if (!fs.existsSync(file)) return null;
  const mod = (await import(file)) as { handler: NodeHandler };
  return mod.handler;
}

export async function createApp(config: Config, opts: AppOptions = {}) {
  const db = openDatabase(path.join(config.dataDir, 'messenger.db'), config.sqliteSynchronous);
  const services: Services = buildServices(db, config, opts);
  // DATA_DIR/server.lock: `npm run restore` refuses while a live process holds it
  const lock = takeServerLock(config.dataDir, services.log);
  const metrics = createMetrics({
    dataDir: config.dataDir, token: config.metricsToken,
    connections: () => collab.sockets.all.size, documents: () => collab.hocuspocus.getDocumentsCount(),
  });
  // the write queue's commits: fsynced off the event loop before anything that depends on them is sent
  const durability = config.sqliteSynchronous === 'FULL' ? walDurability(db, opts.walFsync) : immediateDurability;
  const collab = createCollab({
    db,
    durability,
    onFatal: opts.onDiskFatal,
    metrics,
    clock: services.clock,
    ids: services.ids,
    sessions: services.sessions,
    access: services.access,
    roomService: services.rooms,
    polls: services.polls,
    files: services.files,
    search: services.search,
    retentionPolicy: services.retention,
    audit: (e) => services.audit.record(e),
    rooms: services.repos.rooms,
    users: services.repos.users,
    documents: services.repos.documents,
    events: services.events,
    log: services.log,
    allowedOrigins: config.allowedOrigins,
    maxMessageChars: config.maxMessageChars,
    maxUpdateBytes: config.maxUpdateBytes,
    rateLimits: services.rateLimits,
    pingIntervalMs: opts.pingIntervalMs,
    backlogGraceMs: opts.backlogGraceMs,
    idleTimeoutMs: opts.idleTimeoutMs,
  });
  const stats = statsSource({
    db, clock: services.clock, dataDir: config.dataDir, fileStore: services.fileStore, files: services.files, clamdPing: services.files.clamdPing(),
    connections: () => collab.sockets.all.size, documents: () => collab.hocuspocus.getDocumentsCount(), refusals: collab.refusals,
    lastBackup: () => backups.last(), backupConfigured: () => backups.enabled, lastRetention: () => collab.retention.lastRun(),
  });
  const api = createRouter([...apiRoutes(services, {
    readMessage: collab.readMessage, stats: stats.stats,
    maintenance: { list: () => maintenance.list(), has: (n) => maintenance.has(n), run: (n) => maintenance.run(n) },
    backup: { configured: config.backupDir !== null, run: () => backups.run() },
  }), ...authProviderRoutes(services)], { sessions: services.sessions, allowedOrigins: config.allowedOrigins, log: services.log, rateLimits: services.rateLimits, onRateLimited: metrics.rateLimited, durable: () => collab.queue.whenDurable() });
  const appHandler = opts.appHandler ?? null;
  // maintenance on a schedule, each job's last run shown in the dashboard and runnable by hand
  const HOUR = 60 * 60 * 1000;
  const maintenance = new Maintenance([
    // expired polls close by themselves while the server runs (votes are also checked at vote time)
    { name: 'polls', description: 'close polls past their end', everyMs: opts.pollSweepMs ?? 5000, run: () => ({ closed: services.polls.closeExpired() }) },
    // uploads never attached, and bytes left behind by removed rooms or broken uploads
    { name: 'uploads', description: 'remove uploads never sent, and bytes without a row', everyMs: opts.maintenanceMs ?? HOUR, run: () => services.files.purge() },
    // RETENTION_DAYS=0 makes each run a no-op
    { name: 'retention', description: 'erase messages past the retention period', everyMs: opts.retentionMs ?? HOUR, atStart: true, run: () => collab.retention.run() },
    { name: 'compaction', description: 'compact document logs left long (after a crash)', everyMs: opts.maintenanceMs ?? HOUR, run: () => collab.compactLongTails() },
    { name: 'checkpoint', description: 'checkpoint the WAL into the database file', everyMs: opts.maintenanceMs ?? HOUR, run: () => db.pragma('wal_checkpoint(PASSIVE)', { simple: false }) },
    { name: 'optimize', description: 'PRAGMA optimize (query planner statistics)', everyMs: 24 * HOUR, run: () => void db.pragma('optimize') },
  ], services.log, () => services.clock.now());
  maintenance.start();
  services.files.start();
  // scheduled online backups (BACKUP_DIR); the first one an interval after start
  const backups = createBackupScheduler({
    dir: config.backupDir, everyMs: opts.backupEveryMs ?? config.backupEveryHours * 3600 * 1000, keep: config.backupKeep,
    dataDir: config.dataDir, db, log: services.log,
  });
  backups.start();

  const caCert = caCertHandler(config);
  const oidc = oidcHandler(services);
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    securityHeaders(res, { https: isHttps(req) });
    const url = req.url ?? '/';
    if (url === '/api' || url.startsWith('/api/')) return void api(req, res);
    if (url === '/ca.crt' || url.startsWith('/ca.crt?')) return caCert(req, res);
    if (url.startsWith('/auth/oidc/')) return void oidc(req, res);
    if (url === '/healthz') {
      // cheap and public: status and version only (the figures are for admins: /api/admin/stats, /metrics)
      db.prepare('SELECT 1').get();
      return sendJson(res, 200, { status: 'ok', version: services.version });
    }
    if (url === '/metrics' || url.startsWith('/metrics?')) return void metrics.handle(req, res);
    if (appHandler) {
      appPolicy(req, res);
      return appHandler(req, res, () => sendJson(res, 404, { error: { code: 'not-found', message: 'Not found.' } }));
    }
    sendJson(res, 404, { error: { code: 'not-found', message: 'The web app is not built; run `npm run build`.' } });
  };

  // HTTPS with TLS_CERT/TLS_KEY, or with the local CA's certificate when `npm run cert` made one
  const tls = resolveTls(config);
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, onRequest) : http.createServer(onRequest);
  let httpsPort = 0;
  // the plain-HTTP port only makes sense next to HTTPS
  const redirect = tls && config.httpRedirectPort !== null ? redirectServer(caCert, () => httpsPort) : null;
  // Node's own refusals (431, malformed framing, timeouts) answer in the API's JSON shape
  answerClientErrors(server, services.log);
  server.on('upgrade', (req, socket, head) => {
    const pathname = (req.url ?? '').split('?')[0];
    if (pathname === '/collab' || pathname.startsWith('/collab/')) {
      collab.handleUpgrade(req, socket, head).catch((err) => {
        services.log.error({ err }, 'upgrade failed');
        socket.destroy();
      });
    } else if (!opts.passOtherUpgrades) {
      socket.destroy();
    }
  });

  return {
    services,
    collab,
    server,
    /** Scheduled backups: `last()` (the last result), `run()` (one now). */
    backups,
    /** `https` when a certificate is configured (TLS_CERT/TLS_KEY or DATA_DIR/tls). */
    scheme: tls ? 'https' as const : 'http' as const,
    /** The bound redirect port (HTTP_REDIRECT_PORT; 0 picks one), once listening; null without. */
    redirectPort: null as number | null,
    async listen(port = config.port, host = config.host): Promise<number> {
      await new Promise<void>((resolve) => server.listen(port, host, resolve));
      const bound = (server.address() as AddressInfo).port;
      httpsPort = bound;
      if (redirect) {
        await new Promise<void>((resolve) => redirect.listen(config.httpRedirectPort ?? 0, host, resolve));
        this.redirectPort = (redirect.address() as AddressInfo).port;
      }
      lock.listening(bound, host);
      return bound;
    },
    async close() {
      await backups.stop();
      maintenance.stop();
      stats.close();
      await services.files.stop();
      await collab.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
      if (redirect?.listening) {
        await new Promise<void>((resolve) => {
          redirect.close(() => resolve());
          redirect.closeAllConnections();
        });
      }
      durability.close();
      db.close();
      lock.release();
    },
  };
}
export type App = Awaited<ReturnType<typeof createApp>>;
