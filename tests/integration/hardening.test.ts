/**
 * Issue 12, hardening from outside: the security headers on every kind of response (API, files,
 * exports, errors, Node's own refusals, /healthz, /metrics, the web app's pages and assets, HSTS
 * only over HTTPS), and the contract slips: a revoked session is told `session-revoked`, a client
 * that aborts mid-body is no server error, a refusal of a large body reaches a client still busy
 * sending it, long usernames are `invalid-username`, passwords are capped at 200, Node-level
 * errors are JSON, /healthz says only status and version.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import https from 'node:https';
import { Writable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, apiClient, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { uploadTo, png } from '../helpers/uploads.ts';
import { loadSvelteKitHandler } from '../../server/index.ts';
import { APP_ASSET_CSP, FALLBACK_CSP, HSTS } from '../../server/http/security-headers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Log lines of the server, as pino writes them (level 20 = debug, 50 = error). */
const logLines: { level: number; msg: string }[] = [];
const logStream = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
    done();
  },
});

let server: TestServer;
let admin: TestUser;
let user: TestUser;
let roomId: string;
let fileId: string;
beforeAll(async () => {
  // the real web app (built when stale), so that its pages and assets are checked too
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  const appHandler = await loadSvelteKitHandler(ROOT);
  server = await startServer({}, { appHandler, log: pino({ level: 'debug' }, logStream) });
  admin = await makeUser(server); // the first account is a server admin
  user = await makeUser(server);
  roomId = (await makeRoom(admin, [user])).id;
  const up = await uploadTo(server, admin, roomId, 'pic.png', await png(64, 32));
  expect(up.status).toBe(201);
  fileId = up.body.file.id;
}, 120_000);
afterAll(() => server?.close());

interface Raw {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** One HTTP/1.1 exchange over a raw socket: the bytes are sent as given, the first response is parsed. */
function rawExchange(request: string | Buffer, opts: { port?: number } = {}): Promise<Raw> {
  const port = opts.port ?? Number(new URL(server.url).port);
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const tryParse = () => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const length = Number(headers['content-length'] ?? NaN);
      const body = buf.subarray(end + 4);
      if (Number.isFinite(length) && body.length < length) return false;
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text: body.toString('utf8') });
      s.destroy();
      return true;
    };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      tryParse();
    });
    s.on('end', () => tryParse() || reject(new Error(`no complete response: ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`)));
    s.on('error', reject);
    s.write(request);
  });
}

const BASE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

function expectSecurityHeaders(h: Headers | Record<string, string>, what: string) {
  const get = (k: string) => (h instanceof Headers ? h.get(k) : h[k]) ?? null;
  for (const [k, v] of Object.entries(BASE_HEADERS)) expect(get(k), `${k} on ${what}`).toBe(v);
  expect(get('permissions-policy'), what).toMatch(/microphone=\(\)/);
  expect(get('permissions-policy'), what).toMatch(/geolocation=\(\)/);
  expect(get('content-security-policy'), what).toMatch(/frame-ancestors 'none'/);
  expect(get('strict-transport-security'), `no HSTS over plain HTTP: ${what}`).toBeNull();
}

describe('security headers', () => {
  it('are on every kind of response: API, errors, files, exports, health, metrics', async () => {
    const bearer = { authorization: `Bearer ${admin.token}` };
    const cases: [string, RequestInit & { expectStatus: number }][] = [
      ['/api/config', { expectStatus: 200 }],
      ['/api/me', { expectStatus: 401 }],
      ['/api/nope', { expectStatus: 404 }],
      ['/api/login', { expectStatus: 405 }],
      ['/api/me', { expectStatus: 200, headers: bearer }],
      [`/api/files/${fileId}`, { expectStatus: 200, headers: bearer }],
      [`/api/files/${fileId}/thumb`, { expectStatus: 200, headers: bearer }],
      ['/api/admin/audit?format=csv', { expectStatus: 200, headers: bearer }],
      ['/api/login', { expectStatus: 413, method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(70 * 1024) }],
      ['/api/login', { expectStatus: 400, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }],
      ['/healthz', { expectStatus: 200 }],
      ['/metrics', { expectStatus: 200 }],
    ];
    for (const [url, init] of cases) {
      const res = await fetch(server.url + url, init);
      expect(res.status, url).toBe(init.expectStatus);
      expectSecurityHeaders(res.headers, `${init.method ?? 'GET'} ${url}`);
      await res.arrayBuffer();
    }
    // API JSON gets the fallback policy that allows nothing; a stored file keeps its sandbox
    expect((await fetch(`${server.url}/api/config`)).headers.get('content-security-policy')).toBe(FALLBACK_CSP);
    expect((await fetch(`${server.url}/api/files/${fileId}`, { headers: bearer })).headers.get('content-security-policy')).toBe("default-src 'none'; sandbox; frame-ancestors 'none'");
  });

  it('are on the web app: pages carry the app policy, the service worker its own', async () => {
    const page = await fetch(`${server.url}/rooms/some-room`);
    expect(page.status).toBe(200);
    expectSecurityHeaders(page.headers, 'a page');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self' 'sha256-/);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    const html = await page.text();
    // the service worker fetches our own origin to cache the shell: its policy allows 'self'
    const sw = await fetch(`${server.url}/service-worker.js`);
    expectSecurityHeaders(sw.headers, 'the service worker');
    expect(sw.headers.get('content-security-policy')).toBe(APP_ASSET_CSP);
    await sw.arrayBuffer();
    // assets are not documents: the base headers, no policy of their own
    const asset = html.match(/\/_app\/immutable\/[^"']+\.js/)![0];
    for (const url of [asset, '/manifest.webmanifest', '/favicon.svg']) {
      const res = await fetch(server.url + url);
      expect(res.status, url).toBe(200);
      for (const [k, v] of Object.entries(BASE_HEADERS)) expect(res.headers.get(k), `${k} on ${url}`).toBe(v);
      await res.arrayBuffer();
    }
  });

  it("a page's revalidation (304) carries no policy that would replace the cached page's", async () => {
    const first = await fetch(`${server.url}/`);
    await first.text();
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(`${server.url}/`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    // a browser takes a 304's headers as updates of the stored page: a CSP here would replace the page's
    expect(again.headers.get('content-security-policy')).toBeNull();
    expect(again.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it("Node's own refusals (431, malformed framing) are the JSON error with the headers", async () => {
    const huge = await rawExchange(`GET /api/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge.status).toBe(431);
    expect(JSON.parse(huge.text)).toEqual({ error: { code: 'headers-too-large', message: expect.any(String) } });
    expectSecurityHeaders(huge.headers, '431');
    for (const bad of [
      'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
      'POST /api/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      'GET /api/me HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
      'GET /api/me HTTP/9.9\r\n\r\n',
    ]) {
      const r = await rawExchange(bad);
      expect(r.status, bad).toBe(400);
      expect(JSON.parse(r.text).error.code, bad).toBe('bad-request');
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expectSecurityHeaders(r.headers, bad);
    }
    // the server is fine afterwards
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('sends HSTS only over HTTPS', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tls = await startServer({ tlsCert: cert, tlsKey: key });
    try {
      const port = Number(new URL(tls.url).port);
      const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port, path: '/api/config', ca: fs.readFileSync(cert) }, (res) => {
          res.resume();
          resolve(res.headers);
        }).on('error', reject);
      });
      expect(headers['strict-transport-security']).toBe(HSTS);
      expect(headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await tls.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('contract slips', () => {
  it('a revoked session gets 401 session-revoked; a token that never existed gets unauthorized', async () => {
    const u = await makeUser(server);
    const second = await apiClient(server.url)('POST', '/api/login', { username: u.username, password: 'password123' });
    const token: string = second.body.token;
    const sessionId = token.split('.')[0];
    expect((await u.api('DELETE', `/api/me/sessions/${sessionId}`)).status).toBe(204);
    // bearer and cookie alike
    const viaBearer = await apiClient(server.url, token)('GET', '/api/me');
    expect([viaBearer.status, viaBearer.body.error.code]).toEqual([401, 'session-revoked']);
    const viaCookie = await fetch(`${server.url}/api/me`, { headers: { cookie: `session=${encodeURIComponent(token)}` } });
    expect([viaCookie.status, (await viaCookie.json()).error.code]).toEqual([401, 'session-revoked']);
    // a guessed secret for the same (revoked) id, an unknown id, no token: unauthorized
    for (const t of [`${sessionId}.${'a'.repeat(24)}`, `${'b'.repeat(24)}.${'c'.repeat(24)}`, undefined]) {
      const r = await apiClient(server.url, t)('GET', '/api/me');
      expect([r.status, r.body.error.code]).toEqual([401, 'unauthorized']);
    }
    // logging out is the same: the old token is told its session ended
    const third = await apiClient(server.url)('POST', '/api/login', { username: u.username, password: 'password123' });
    expect((await apiClient(server.url, third.body.token)('POST', '/api/logout')).status).toBe(204);
    expect((await apiClient(server.url, third.body.token)('GET', '/api/me')).body.error.code).toBe('session-revoked');
    // the owner's own session is untouched
    expect((await u.api('GET', '/api/me')).status).toBe(200);
  });

  it('a client that aborts mid-body is no server error: no 500 attempt, no error-level log', async () => {
    const port = Number(new URL(server.url).port);
    const abort = (head: string, part: string) => new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(head + part);
        // the server has the headers and part of the body: then the client is gone
        setImmediate(() => s.destroy());
      });
      s.on('close', () => resolve());
      s.on('error', () => {});
    });
    const before = logLines.length;
    await abort(`PATCH /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`, '{"displayName": "');
    await abort(`POST /api/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n`, `--b\r\nContent-Disposition: form-data; name="room_id"\r\n\r\n${roomId}\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello`);
    // positive control: the server noticed both aborts (at debug level)
    await waitFor(() => logLines.slice(before).filter((l) => l.msg === 'client went away mid-request').length === 2, { message: 'both aborts to be logged at debug level' });
    const since = logLines.slice(before);
    expect(since.filter((l) => l.level >= 50)).toEqual([]);
    expect(since.some((l) => /unexpected error/.test(l.msg))).toBe(false);
    expect((await user.api('GET', '/api/me')).status).toBe(200);
  });

  /** A client that writes its whole body before it reads anything, as an uploader on a slow link does. */
  function sendAllThenRead(head: string, bodyBytes: number): Promise<Raw | { error: string }> {
    const port = Number(new URL(server.url).port);
    return new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.pause();
      let buf = Buffer.alloc(0);
      const finish = () => {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return resolve({ error: 'no answer' });
        const text = buf.subarray(end + 4).toString();
        resolve({ status: Number(buf.subarray(0, 12).toString().split(' ')[1]), headers: {}, text });
      };
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (/\r\n\r\n[\s\S]*\}$/.test(buf.toString())) {
          finish();
          s.destroy();
        }
      });
      s.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? 'error' }));
      s.on('close', finish);
      s.write(head);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < bodyBytes) {
          if (s.destroyed) return;
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.resume();
      };
      pump();
    });
  }

  it('a refusal of a large body reaches a client that is still sending it, also with Connection: close', async () => {
    const big = 4 * 1024 * 1024;
    for (const connection of ['keep-alive', 'close']) {
      const announced = await sendAllThenRead(`POST /api/login HTTP/1.1\r\nHost: x\r\nConnection: ${connection}\r\nContent-Type: application/json\r\nContent-Length: ${big}\r\n\r\n`, big);
      expect(announced, connection).toMatchObject({ status: 413 });
      expect(JSON.parse((announced as Raw).text).error.code).toBe('payload-too-large');
      const upload = await sendAllThenRead(`POST /api/upload HTTP/1.1\r\nHost: x\r\nConnection: ${connection}\r\nAuthorization: Bearer ${user.token}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${big}\r\n\r\n--b\r\nContent-Disposition: form-data; name="room_id"\r\n\r\nnot-my-room\r\n--b\r\n`, big);
      expect(upload, connection).toMatchObject({ status: 404 });
      expect(JSON.parse((upload as Raw).text).error.code).toBe('not-found');
    }
  });

  it('a username over 64 characters is invalid-username; passwords are capped at 200 (weak-password)', async () => {
    const api = apiClient(server.url);
    for (const username of ['a'.repeat(65), 'a'.repeat(1000), 'ab', 'has space']) {
      const r = await api('POST', '/api/register', { username, password: 'password123' });
      expect([r.status, r.body.error.code], username.slice(0, 20)).toEqual([400, 'invalid-username']);
    }
    const long = await api('POST', '/api/register', { username: 'longpass_user', password: `a1${'x'.repeat(199)}` });
    expect([long.status, long.body.error.code]).toEqual([400, 'weak-password']);
    const max = await api('POST', '/api/register', { username: 'maxpass_user', password: `a1${'x'.repeat(198)}` });
    expect(max.status).toBe(201);
    // at login an over-long password matches nothing, and is no validation error either
    const login = await api('POST', '/api/login', { username: 'maxpass_user', password: `a1${'x'.repeat(198)}y` });
    expect([login.status, login.body.error.code]).toEqual([401, 'invalid-credentials']);
    const admins = await admin.api('POST', '/api/admin/users', { username: 'z'.repeat(70), password: 'password123' });
    expect([admins.status, admins.body.error.code]).toEqual([400, 'invalid-username']);
  });

  it('/healthz says only status and version', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok', version: expect.any(String) });
  });
});


