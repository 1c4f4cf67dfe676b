/**
 * Configuration from environment variables. This table is the one source for the README's
 * configuration section (`npm run docs:config` prints it); keep descriptions short and true.
 */
import path from 'node:path';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  tlsCert: string | null;
  tlsKey: string | null;
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
  registration: 'open' | 'invite-only';
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
  { env: 'TLS_CERT', default: '(unset)', description: 'PEM certificate file; with `TLS_KEY` the server speaks HTTPS/WSS' },
  { env: 'TLS_KEY', default: '(unset)', description: 'PEM private key file' },
  { env: 'ALLOWED_ORIGINS', default: '(own origin)', description: 'Comma-separated extra origins for cookie-authenticated writes and `/collab` upgrades' },
  { env: 'SQLITE_SYNCHRONOUS', default: 'FULL', description: '`FULL`: every acknowledged message is fsynced; `NORMAL`: survives a process crash, not a power cut' },
  { env: 'SESSION_DAYS', default: '30', description: 'Sliding session lifetime in days' },
  { env: 'MAX_MESSAGE_CHARS', default: '10000', description: 'Longest message text' },
  { env: 'MAX_UPDATE_BYTES', default: '1048576', description: 'Largest document update a client may send (bytes)' },
  { env: 'SEGMENT_MAX_MESSAGES', default: '2000', description: 'Messages per segment before the server seals it and opens the next' },
  { env: 'SEGMENT_MAX_BYTES', default: '1048576', description: 'Approximate encoded size of a segment before it is sealed' },
  { env: 'REGISTRATION', default: 'open', description: '`open` or `invite-only`' },
  { env: 'LOG_LEVEL', default: 'info', description: 'pino log level (`silent` in tests)' },
];

function int(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a non-negative integer, got "${raw}"`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const sync = (env.SQLITE_SYNCHRONOUS ?? 'FULL').toUpperCase();
  if (sync !== 'FULL' && sync !== 'NORMAL') throw new Error('SQLITE_SYNCHRONOUS must be FULL or NORMAL');
  const registration = env.REGISTRATION ?? 'open';
  if (registration !== 'open' && registration !== 'invite-only') throw new Error('REGISTRATION must be open or invite-only');
  return {
    port: int(env, 'PORT', 3000),
    host: env.HOST ?? '0.0.0.0',
    dataDir: path.resolve(env.DATA_DIR ?? './data'),
    tlsCert: env.TLS_CERT || null,
    tlsKey: env.TLS_KEY || null,
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    sqliteSynchronous: sync,
    sessionDays: int(env, 'SESSION_DAYS', 30),
    maxMessageChars: int(env, 'MAX_MESSAGE_CHARS', 10_000),
    maxUpdateBytes: int(env, 'MAX_UPDATE_BYTES', 1024 * 1024),
    segmentMaxMessages: int(env, 'SEGMENT_MAX_MESSAGES', 2000),
    segmentMaxBytes: int(env, 'SEGMENT_MAX_BYTES', 1024 * 1024),
    logLevel: env.LOG_LEVEL ?? 'info',
    registration,
    ...overrides,
  };
}
