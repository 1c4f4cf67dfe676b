/**
 * Issue 12 §3, the rate limits of server/http/rate-limits.ts from outside, at their real numbers:
 * each HTTP limiter answers 429 `rate-limited` with a Retry-After once its allowance is spent (and
 * someone else is not affected); the `/collab` limits (upgrades, unauthenticated sockets, documents
 * opened) refuse with the same code; the failed-login lockout slows a guesser from one IP and from
 * many, without locking the owner out. Clients come from different loopback addresses
 * (127.0.0.x), so each limiter keyed by IP is exercised from its own address.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';

let server: TestServer;
let port: number;
beforeAll(async () => {
  // the real limits: no TEST_LIMITS here (fixture accounts are made through the services instead)
  server = await startServer({}, { rateLimits: RATE_LIMITS });
  port = Number(new URL(server.url).port);
});
afterAll(() => server.close());

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** One request from a chosen loopback address. */
function call(from: string, method: string, path: string, opts: { token?: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string> = {
    ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}),
    ...opts.headers,
  };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, localAddress: from, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

let counter = 0;
/** An account made through the services (so that no registration limit is spent on fixtures). */
async function account(prefix = 'rl') {
  const username = `${prefix}_${++counter}_${process.pid % 1000}`;
  const id = await server.app.services.accounts.createUser({ username, password: 'password123' });
  const { token } = server.app.services.sessions.create(id);
  return { id, username, token };
}

function expectLimited(r: Reply, code = 'rate-limited', maxRetrySec = 60) {
  expect(r.status, JSON.stringify(r.body)).toBe(429);
  expect(r.body.error.code).toBe(code);
  const retry = Number(r.headers['retry-after']);
  expect(Number.isInteger(retry) && retry >= 1 && retry <= maxRetrySec, `Retry-After ${r.headers['retry-after']}`).toBe(true);
}

/** Spends `n` requests, each must pass (any non-429 status), then the next must be limited. */
async function spend(n: number, send: (i: number) => Promise<Reply>): Promise<Reply> {
  for (let i = 0; i < n; i++) {
    const r = await send(i);
    expect(r.status, `request ${i + 1} of ${n}: ${JSON.stringify(r.body)}`).not.toBe(429);
  }
  return send(n);
}

describe('HTTP limiters, each with Retry-After', () => {
  it(`register: ${RATE_LIMITS.register.points} per minute per IP`, async () => {
    const r = await spend(RATE_LIMITS.register.points, (i) => call('127.0.0.2', 'POST', '/api/register', { body: { username: `reg_${process.pid % 1000}_${i}`, password: 'password123' } }));
    expectLimited(r);
    // another IP registers
    expect((await call('127.0.0.3', 'POST', '/api/register', { body: { username: `reg_${process.pid % 1000}_other`, password: 'password123' } })).status).toBe(201);
  });

  it(`login: ${RATE_LIMITS.auth.points} per minute per IP, whatever the usernames`, async () => {
    const u = await account();
    // distinct unknown usernames: the per-username lockout never trips, only the per-IP limit
    const r = await spend(RATE_LIMITS.auth.points, (i) => call('127.0.0.4', 'POST', '/api/login', { body: { username: `nobody_${i}`, password: 'password123' } }));
    expectLimited(r);
    // even the right password waits on that IP; from another it works
    expectLimited(await call('127.0.0.4', 'POST', '/api/login', { body: { username: u.username, password: 'password123' } }));
    expect((await call('127.0.0.5', 'POST', '/api/login', { body: { username: u.username, password: 'password123' } })).status).toBe(200);
  });

  it(`search: ${RATE_LIMITS.search.points} per minute per user`, async () => {
    const [u, other] = [await account(), await account()];
    expectLimited(await spend(RATE_LIMITS.search.points, () => call('127.0.0.6', 'GET', '/api/search?q=hello', { token: u.token })));
    expect((await call('127.0.0.6', 'GET', '/api/search?q=hello', { token: other.token })).status).toBe(200);
  });

  it(`upload: ${RATE_LIMITS.upload.points} per minute per user (refused uploads count too)`, async () => {
    const [u, other] = [await account(), await account()];
    const multipart = (token: string) => call('127.0.0.6', 'POST', '/api/upload', {
      token, headers: { 'content-type': 'multipart/form-data; boundary=b' },
      raw: '--b\r\nContent-Disposition: form-data; name="room_id"\r\n\r\nnot-a-room\r\n--b--\r\n',
    });
    expectLimited(await spend(RATE_LIMITS.upload.points, () => multipart(u.token)));
    expect((await multipart(other.token)).status).toBe(404);
  });

  it(`pins: ${RATE_LIMITS.pins.points} per minute per user`, async () => {
    const [u, other] = [await account(), await account()];
    const room = await call('127.0.0.6', 'POST', '/api/rooms', { token: u.token, body: { name: 'pins', memberIds: [other.id] } });
    expect(room.status).toBe(201);
    const pin = (token: string, i: number) => call('127.0.0.6', 'POST', `/api/rooms/${room.body.room.id}/pins`, { token, body: { text: `notice ${i}` } });
    expectLimited(await spend(RATE_LIMITS.pins.points, (i) => pin(u.token, i)));
    expect((await pin(other.token, 0)).status).toBe(201);
  });

  it(`other writes: ${RATE_LIMITS.api.points} per minute per user`, async () => {
    const [u, other] = [await account(), await account()];
    const write = (token: string, i: number) => call('127.0.0.6', 'PATCH', '/api/me', { token, body: { statusMessage: `s${i}` } });
    expectLimited(await spend(RATE_LIMITS.api.points, (i) => write(u.token, i)));
    expect((await write(other.token, 0)).status).toBe(200);
    // reads are not counted
    expect((await call('127.0.0.6', 'GET', '/api/me', { token: u.token })).status).toBe(200);
  }, 60_000);
});

/** A raw WebSocket upgrade from `from`: the status of the answer, its Retry-After, and the socket (open on 101). */
function upgrade(from: string, cookie?: string): Promise<{ status: number; retryAfter: number | null; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => {
      s.write(`GET /collab HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${cookie ? `Cookie: session=${encodeURIComponent(cookie)}\r\n` : ''}\r\n`);
    });
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      const retry = /\r\nretry-after: *(\d+)/i.exec(buf.slice(0, end));
      resolve({ status: Number(buf.split(' ')[1]), retryAfter: retry ? Number(retry[1]) : null, socket: s });
    };
    s.on('data', onData);
    s.on('error', reject);
  });
}

describe('/collab limits', () => {
  it(`at most ${RATE_LIMITS.unauthSockets.points} sockets per IP may wait unauthenticated; a signed-in one still connects`, async () => {
    const u = await account();
    const open: net.Socket[] = [];
    for (let i = 0; i < RATE_LIMITS.unauthSockets.points; i++) {
      const r = await upgrade('127.0.0.7');
      expect(r.status, `socket ${i + 1}`).toBe(101);
      open.push(r.socket);
    }
    const over = await upgrade('127.0.0.7');
    expect(over.status).toBe(429);
    expect(over.retryAfter).toBeGreaterThanOrEqual(1);
    over.socket.destroy();
    // a session cookie is not counted against the cap; another IP is not affected
    const signedIn = await upgrade('127.0.0.7', u.token);
    expect(signedIn.status).toBe(101);
    const elsewhere = await upgrade('127.0.0.8');
    expect(elsewhere.status).toBe(101);
    for (const s of [...open, signedIn.socket, elsewhere.socket]) s.destroy();
  });

  it(`upgrades: ${RATE_LIMITS.upgrade.points} per minute per IP`, async () => {
    let last: Awaited<ReturnType<typeof upgrade>> | null = null;
    for (let i = 0; i <= RATE_LIMITS.upgrade.points; i++) {
      last = await upgrade('127.0.0.9');
      last.socket.destroy();
      if (i < RATE_LIMITS.upgrade.points) expect(last.status, `upgrade ${i + 1}`).toBe(101);
    }
    expect(last!.status).toBe(429);
    // the upgrade limiter's wait (up to a minute), not the unauthenticated cap's few seconds
    expect(last!.retryAfter).toBeGreaterThan(5);
    expect((await upgrade('127.0.0.10')).status).toBe(101);
  }, 60_000);

  it('documents opened: beyond the allowance a document is refused rate-limited, other users are not', async () => {
    // a server of its own with a small allowance: the code path is the table's, the numbers are the test's
    const small = await startServer({}, { rateLimits: { ...RATE_LIMITS, documents: { ...RATE_LIMITS.documents, points: 3 } } });
    try {
      const make = async (name: string) => {
        const id = await small.app.services.accounts.createUser({ username: name, password: 'password123' });
        return { id, token: small.app.services.sessions.create(id).token };
      };
      const [a, b] = [await make('docs_a'), await make('docs_b')];
      const rooms = [0, 1, 2, 3].map((i) => small.app.services.rooms.create(a.id, { name: `r${i}`, memberIds: [b.id] }));
      const c = new RawClient(small.wsUrl);
      for (const room of rooms.slice(0, 3)) expect((await c.open(`room:${room.id}`, a.token, { sync: false })).authenticated).toBe(true);
      const refused = await c.open(`room:${rooms[3].id}`, a.token, { sync: false });
      expect(refused.denied).toBe('rate-limited');
      const other = new RawClient(small.wsUrl);
      expect((await other.open(`room:${rooms[3].id}`, b.token)).authenticated).toBe(true);
      c.close();
      other.close();
    } finally {
      await small.close();
    }
  });
});

describe('failed-login lockout', () => {
  const login = (from: string, username: string, password: string) => call(from, 'POST', '/api/login', { body: { username, password } });

  it(`locks (username, IP) after ${RATE_LIMITS.lockout.points} failures, even for the right password; the owner elsewhere is not affected`, async () => {
    const victim = await account('victim');
    for (let i = 0; i < RATE_LIMITS.lockout.points; i++) expect((await login('127.0.0.11', victim.username, `wrong${i}pass`)).status).toBe(401);
    const locked = await login('127.0.0.11', victim.username, 'password123');
    expectLimited(locked, 'login-locked', RATE_LIMITS.lockout.durationSec);
    // case does not get around it
    expectLimited(await login('127.0.0.11', victim.username.toUpperCase(), 'password123'), 'login-locked');
    // the victim, from their own machine, logs in at once
    expect((await login('127.0.0.12', victim.username, 'password123')).status).toBe(200);
    // the attacker's IP may still try other accounts (the per-IP limit covers spraying)
    const other = await account('other');
    expect((await login('127.0.0.11', other.username, 'password123')).status).toBe(200);
  });

  it('locks a username that does not exist exactly the same way (a lock tells nothing)', async () => {
    for (let i = 0; i < RATE_LIMITS.lockout.points; i++) expect((await login('127.0.0.13', 'ghost_account', `wrong${i}pass`)).body.error.code).toBe('invalid-credentials');
    expectLimited(await login('127.0.0.13', 'ghost_account', 'password123'), 'login-locked');
  });

  it('failures from many IPs lock the username for new IPs only: the owner\'s known machine still gets in', async () => {
    const victim = await account('spread');
    // the owner has logged in from 127.0.0.20 before
    expect((await login('127.0.0.20', victim.username, 'password123')).status).toBe(200);
    for (let ip = 21; ip < 21 + 5; ip++) expect((await login(`127.0.0.${ip}`, victim.username, 'wrong1pass')).status).toBe(401);
    // a new IP, even with the right password, waits
    expectLimited(await login('127.0.0.30', victim.username, 'password123'), 'login-locked');
    // the owner's known machine is let in
    expect((await login('127.0.0.20', victim.username, 'password123')).status).toBe(200);
    // and other accounts are untouched from the new IP
    const bystander = await account('bystander');
    expect((await login('127.0.0.30', bystander.username, 'password123')).status).toBe(200);
  });
});

describe('the table is what GET /api/config publishes', () => {
  it('lists every limit with its numbers', async () => {
    const r = await call('127.0.0.40', 'GET', '/api/config');
    expect(r.body.rateLimits).toEqual(JSON.parse(JSON.stringify(RATE_LIMITS)));
  });
});
