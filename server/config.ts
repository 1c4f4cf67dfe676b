/**
 * Configuration from environment variables. This table is the one source for the README's
 * configuration section (`npm run docs:config` prints it); keep descriptions short and true.
 */
import path from 'node:path';
import { DEFAULT_UPLOAD_TYPES, FILE_TYPES } from './files/types.ts';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  tlsCert: string | null;
  tlsKey: string | null;
  /** CA certificate offered at `/ca.crt` (null: DATA_DIR/tls/ca.crt, when `npm run cert` made it). */
  tlsCa: string | null;
  /** A plain-HTTP port that redirects to HTTPS and serves `/ca.crt` (null: none). */
  httpRedirectPort: number | null;
  /** OpenID Connect single sign-on (null issuer: off). */
  oidcIssuer: string | null;
  oidcClientId: string | null;
  oidcClientSecret: string | null;
  oidcRedirectUri: string | null;
  oidcName: string;
  oidcUsernameClaim: string;
  /** SSO only: password login is off for everyone but enabled server admins (break-glass). */
  oidcOnly: boolean;
  /** Extra origins allowed for cookie-authenticated writes and WebSocket upgrades. */
  allowedOrigins: string[];
  /** `FULL` fsyncs every accepted update (survives power loss); `NORMAL` survives a process kill. */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  sessionDays: number;
  maxMessageChars: number;
  maxUpdateBytes: number;
  segmentMaxMessages: number;
  segmentMaxBytes: number;
  logLevel: string;
  registration: 'open' | 'invite-only' | 'closed';
  /** Bearer token for `GET /metrics` (null: loopback clients only). */
  metricsToken: string | null;
  /** Messages older than this many days are erased everywhere (0: kept forever). */
  retentionDays: number;
  uploadMaxBytes: number;
  /** Allowed extensions. */
  uploadTypes: string[];
  uploadTokenTtlSec: number;
  uploadOrphanHours: number;
  /** `clamav`: uploads wait in quarantine until clamd says clean. */
  avScan: 'off' | 'clamav';
  clamdSocket: string | null;
  clamdHost: string | null;
  clamdPort: number;
  /** Scheduled backups go here (null: none). */
  backupDir: string | null;
  /** Hours between scheduled backups (0: none). */
  backupEveryHours: number;
  /** Scheduled backups kept (0: all). */
  backupKeep: number;
}

interface Entry {
  env: string;
  default: string;
  description: string;
}

export const CONFIG_TABLE: Entry[] = [
  { env: 'PORT', default: '3000', description: 'HTTP/WebSocket port (app, `/api` and `/collab` on one port)' },
  { env: 'HOST', default: '0.0.0.0', description: 'Interface to listen on' },
  { env: 'DATA_DIR', default: './data', description: 'SQLite database and uploads' },
  { env: 'TLS_CERT', default: '(unset)', description: 'PEM certificate file; with `TLS_KEY` the server speaks HTTPS/WSS. Unset: `DATA_DIR/tls/server.crt` when `npm run cert` made one, else plain HTTP' },
  { env: 'TLS_KEY', default: '(unset)', description: 'PEM private key file' },
  { env: 'TLS_CA', default: '(unset)', description: 'CA certificate (PEM or DER) offered at `GET /ca.crt`; unset: the local CA of `npm run cert`, if any' },
  { env: 'HTTP_REDIRECT_PORT', default: '(unset)', description: 'Under HTTPS, a plain-HTTP port that answers 308 to the HTTPS URL and serves `/ca.crt` (e.g. `80`)' },
  { env: 'OIDC_ISSUER', default: '(unset)', description: 'OpenID Connect issuer URL (discovery at `/.well-known/openid-configuration`); with the next three, single sign-on is on' },
  { env: 'OIDC_CLIENT_ID', default: '(unset)', description: 'Client id registered at the provider' },
  { env: 'OIDC_CLIENT_SECRET', default: '(unset)', description: 'Client secret (`client_secret_basic`); unset: a public client (PKCE only)' },
  { env: 'OIDC_REDIRECT_URI', default: '(unset)', description: 'Registered redirect URI, `https://<host>/auth/oidc/callback`' },
  { env: 'OIDC_NAME', default: 'SSO', description: 'Provider name on the login button ("Sign in with …")' },
  { env: 'OIDC_USERNAME_CLAIM', default: 'preferred_username', description: 'ID-token claim a new account takes its username from (fallback: the local part of `email`), normalised to the username rules' },
  { env: 'OIDC_ONLY', default: 'false', description: '`true`: password login and registration are off, except password login of enabled server admins (break-glass)' },
  { env: 'ALLOWED_ORIGINS', default: '(own origin)', description: 'Comma-separated extra origins for cookie-authenticated writes and `/collab` upgrades' },
  { env: 'SQLITE_SYNCHRONOUS', default: 'FULL', description: '`FULL`: every acknowledged message is fsynced (in groups, off the event loop; a failed fsync stops the server with exit code 70); `NORMAL`: survives a process crash, not a power cut' },
  { env: 'SESSION_DAYS', default: '30', description: 'Sliding session lifetime in days' },
  { env: 'MAX_MESSAGE_CHARS', default: '10000', description: 'Longest message text' },
  { env: 'MAX_UPDATE_BYTES', default: '1048576', description: 'Largest document update a client may send (bytes)' },
  { env: 'SEGMENT_MAX_MESSAGES', default: '2000', description: 'Messages per segment before the server seals it and opens the next' },
  { env: 'SEGMENT_MAX_BYTES', default: '1048576', description: 'Approximate encoded size of a segment before it is sealed' },
  { env: 'METRICS_TOKEN', default: '(unset)', description: '`GET /metrics` (Prometheus) needs `Authorization: Bearer <token>`; unset: answered to loopback clients only' },
  { env: 'RETENTION_DAYS', default: '0', description: 'Erase messages (documents, search index, files, pins) older than this many days; `0` keeps everything' },
  { env: 'UPLOAD_MAX_BYTES', default: '104857600', description: 'Largest file an upload may have (bytes; 100 MiB)' },
  { env: 'UPLOAD_TYPES', default: '(all known)', description: 'Comma-separated allowed extensions, a subset of ' + '`' + DEFAULT_UPLOAD_TYPES.join(' ') + '`' },
  { env: 'UPLOAD_TOKEN_TTL_SEC', default: '3600', description: 'Lifetime of a one-time upload token (a fresh one comes from `GET /api/upload/jobs/:id`)' },
  { env: 'UPLOAD_ORPHAN_HOURS', default: '24', description: 'Uploads never attached to a message are removed after this many hours' },
  { env: 'AV_SCAN', default: 'off', description: '`clamav`: every upload waits in quarantine until a ClamAV daemon says clean' },
  { env: 'CLAMD_SOCKET', default: '(unset)', description: "clamd's local socket (with `AV_SCAN=clamav`)" },
  { env: 'CLAMD_HOST', default: '(unset)', description: "clamd's TCP host, when not `CLAMD_SOCKET`" },
  { env: 'CLAMD_PORT', default: '3310', description: "clamd's TCP port" },
  { env: 'BACKUP_DIR', default: '(unset)', description: 'Scheduled online backups go here (`messenger-<time>/`, last result in `last.json`); unset: none. Also the default of `npm run backup`' },
  { env: 'BACKUP_EVERY_HOURS', default: '24', description: 'Hours between scheduled backups (the first one that long after start); `0`: none' },
  { env: 'BACKUP_KEEP', default: '7', description: 'Scheduled backups kept in `BACKUP_DIR`, older ones are removed; `0` keeps all' },
  { env: 'REGISTRATION', default: 'open', description: '`open`, `invite-only` or `closed` (the first account can always register; an admin changes it at runtime)' },
  { env: 'LOG_LEVEL', default: 'info', description: 'pino log level (`silent` in tests)' },
];

function int(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a non-negative integer, got "${raw}"`);
  return n;
}

function urlOf(key: string, raw: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new Error(`${key} must be a URL, got "${raw}"`);
  }
}

function bool(env: NodeJS.ProcessEnv, key: string): boolean {
  const raw = (env[key] ?? '').toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new Error(`${key} must be true or false, got "${env[key]}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const sync = (env.SQLITE_SYNCHRONOUS ?? 'FULL').toUpperCase();
  if (sync !== 'FULL' && sync !== 'NORMAL') throw new Error('SQLITE_SYNCHRONOUS must be FULL or NORMAL');
  const registration = env.REGISTRATION ?? 'open';
  if (registration !== 'open' && registration !== 'invite-only' && registration !== 'closed') throw new Error('REGISTRATION must be open, invite-only or closed');
  const uploadTypes = env.UPLOAD_TYPES ? env.UPLOAD_TYPES.split(',').map((t) => t.trim().toLowerCase().replace(/^\./, '')).filter(Boolean) : DEFAULT_UPLOAD_TYPES;
  const unknownTypes = uploadTypes.filter((t) => !FILE_TYPES[t]);
  if (unknownTypes.length) throw new Error(`UPLOAD_TYPES: unknown extensions ${unknownTypes.join(', ')} (known: ${DEFAULT_UPLOAD_TYPES.join(' ')})`);
  const avScan = (env.AV_SCAN ?? 'off').toLowerCase();
  if (avScan !== 'off' && avScan !== 'clamav') throw new Error('AV_SCAN must be off or clamav');
  const oidcSet = ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_REDIRECT_URI'].filter((k) => env[k]);
  if (oidcSet.length && oidcSet.length < 3) throw new Error('OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_REDIRECT_URI go together');
  if (bool(env, 'OIDC_ONLY') && !oidcSet.length) throw new Error('OIDC_ONLY=true needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_REDIRECT_URI');
  if (env.OIDC_ISSUER) {
    const issuer = urlOf('OIDC_ISSUER', env.OIDC_ISSUER);
    // tokens and keys come from the issuer: plain http only for a provider on this machine
    if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname))) throw new Error('OIDC_ISSUER must be an https URL (http only for localhost)');
    const redirect = urlOf('OIDC_REDIRECT_URI', env.OIDC_REDIRECT_URI ?? '');
    if (redirect.pathname !== '/auth/oidc/callback') throw new Error('OIDC_REDIRECT_URI must end in /auth/oidc/callback');
  }
  if (avScan === 'clamav' && !env.CLAMD_SOCKET && !env.CLAMD_HOST) throw new Error('AV_SCAN=clamav needs CLAMD_SOCKET or CLAMD_HOST');
  return {
    port: int(env, 'PORT', 3000),
    host: env.HOST ?? '0.0.0.0',
    dataDir: path.resolve(env.DATA_DIR ?? './data'),
    tlsCert: env.TLS_CERT || null,
    tlsKey: env.TLS_KEY || null,
    tlsCa: env.TLS_CA ? path.resolve(env.TLS_CA) : null,
    httpRedirectPort: env.HTTP_REDIRECT_PORT ? int(env, 'HTTP_REDIRECT_PORT', 0) : null,
    oidcIssuer: env.OIDC_ISSUER || null,
    oidcClientId: env.OIDC_CLIENT_ID || null,
    oidcClientSecret: env.OIDC_CLIENT_SECRET || null,
    oidcRedirectUri: env.OIDC_REDIRECT_URI || null,
    oidcName: env.OIDC_NAME || 'SSO',
    oidcUsernameClaim: env.OIDC_USERNAME_CLAIM || 'preferred_username',
    oidcOnly: bool(env, 'OIDC_ONLY'),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    sqliteSynchronous: sync,
    sessionDays: int(env, 'SESSION_DAYS', 30),
    maxMessageChars: int(env, 'MAX_MESSAGE_CHARS', 10_000),
    maxUpdateBytes: int(env, 'MAX_UPDATE_BYTES', 1024 * 1024),
    segmentMaxMessages: int(env, 'SEGMENT_MAX_MESSAGES', 2000),
    segmentMaxBytes: int(env, 'SEGMENT_MAX_BYTES', 1024 * 1024),
    logLevel: env.LOG_LEVEL ?? 'info',
    registration,
    retentionDays: int(env, 'RETENTION_DAYS', 0),
    metricsToken: env.METRICS_TOKEN || null,
    uploadMaxBytes: int(env, 'UPLOAD_MAX_BYTES', 100 * 1024 * 1024),
    uploadTypes,
    uploadTokenTtlSec: int(env, 'UPLOAD_TOKEN_TTL_SEC', 3600),
    uploadOrphanHours: int(env, 'UPLOAD_ORPHAN_HOURS', 24),
    avScan,
    clamdSocket: env.CLAMD_SOCKET || null,
    clamdHost: env.CLAMD_HOST || null,
    clamdPort: int(env, 'CLAMD_PORT', 3310),
    backupDir: env.BACKUP_DIR ? path.resolve(env.BACKUP_DIR) : null,
    backupEveryHours: int(env, 'BACKUP_EVERY_HOURS', 24),
    backupKeep: int(env, 'BACKUP_KEEP', 7),
    ...overrides,
  };
}
