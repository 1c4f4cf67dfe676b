/** Starts the real server (real SQLite in a temp dir, real Hocuspocus) on port 0 for a test file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, type Config } from '../../server/config.ts';
import { createApp, type App, type AppOptions } from '../../server/index.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';

export interface TestServer {
  app: App;
  url: string;
  wsUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

/** Generous auth/API limits so that fixtures can register many users; rate-limit tests pass their own. */
export const TEST_LIMITS = {
  auth: { ...RATE_LIMITS.auth, points: 10_000 },
  register: { ...RATE_LIMITS.register, points: 10_000 },
  lockout: { ...RATE_LIMITS.lockout, points: 10_000 },
  documents: { ...RATE_LIMITS.documents, points: 100_000 },
  api: { ...RATE_LIMITS.api, points: 100_000 },
  upgrade: { ...RATE_LIMITS.upgrade, points: 100_000 },
  sso: { ...RATE_LIMITS.sso, points: 10_000 },
};

export async function startServer(overrides: Partial<Config> = {}, opts: AppOptions = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-test-'));
  const config = loadConfig({}, { dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent', sqliteSynchronous: 'NORMAL', ...overrides });
  const app = await createApp(config, { log: pino({ level: process.env.TEST_LOG ?? 'silent' }), rateLimits: TEST_LIMITS, ...opts });
  const port = await app.listen(0, '127.0.0.1');
  return {
    app,
    dataDir,
    url: `${app.scheme}://127.0.0.1:${port}`,
    wsUrl: `${app.scheme === 'https' ? 'wss' : 'ws'}://127.0.0.1:${port}/collab`,
    async close() {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ApiResult<T = any> {
  status: number;
  body: T;
}

/** A JSON API client holding one bearer token (or none). */
export function apiClient(baseUrl: string, token?: string) {
  return async function api<T = any>(method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResult<T>> {
    const res = await fetch(baseUrl + pathname, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T };
  };
}

let counter = 0;
export interface TestUser {
  id: string;
  username: string;
  token: string;
  api: ReturnType<typeof apiClient>;
}

/** Factory: registers a fresh user and returns its token and an API client. */
export async function makeUser(server: TestServer, name?: string, password = 'password123'): Promise<TestUser> {
  const username = name ?? `u${process.pid % 10000}_${++counter}`;
  const res = await apiClient(server.url)('POST', '/api/register', { username, password });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, token: res.body.token, api: apiClient(server.url, res.body.token) };
}

/** Factory: a registered user with a display name (what the screens show), and its password. */
export async function makeNamedUser(server: TestServer, displayName: string, password = 'password123'): Promise<TestUser & { password: string }> {
  const username = `n${process.pid % 10000}_${++counter}_${Math.random().toString(36).slice(2, 6)}`;
  const res = await apiClient(server.url)('POST', '/api/register', { username, password, displayName });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, password, token: res.body.token, api: apiClient(server.url, res.body.token) };
}

/** Factory: a room created by `owner` with the given members. */
export async function makeRoom(owner: TestUser, members: TestUser[], extra: { name?: string; visibility?: 'joined' | 'shared' } = {}) {
  const res = await owner.api('POST', '/api/rooms', { name: extra.name ?? 'room', memberIds: members.map((m) => m.id), ...(extra.visibility ? { visibility: extra.visibility } : {}) });
  if (res.status !== 201) throw new Error(`create room failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.room as { id: string; openSegment: number; members: { id: string; role: string }[] };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(fn: () => T | Promise<T>, { timeout = 5000, interval = 20, message = 'condition' } = {}): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${message}${last ? `: ${String(last)}` : ''}`);
    await sleep(interval);
  }
}
