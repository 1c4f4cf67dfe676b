/**
 * Accounts over HTTP against the real server: register/login with cookie and token, CSRF rules for
 * cookie-authenticated writes, profile, account deletion with admin succession, login rate limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, apiClient, waitFor, type TestServer } from '../helpers/server.ts';
import { connectSocket, openDoc } from '../helpers/collab.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

interface Reply {
  status: number;
  body: any;
  cookies: string[];
}

/** A raw request with full control of cookie, Origin and Authorization headers. */
async function call(method: string, path: string, opts: { body?: unknown; cookie?: string; bearer?: string; origin?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.cookie) headers.cookie = `session=${encodeURIComponent(opts.cookie)}`;
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.origin) headers.origin = opts.origin;
  const res = await fetch(server.url + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, cookies: res.headers.getSetCookie() };
}

const sessionCookieOf = (r: Reply) => r.cookies.find((c) => c.startsWith('session='));
let seq = 0;
const freshName = () => `acc_${process.pid % 1000}_${++seq}`;

describe('register and login', () => {
  it('register answers 201 with the user and a token, and sets an httpOnly session cookie with the same token', async () => {
    const username = freshName();
    const r = await call('POST', '/api/register', { body: { username, password: 'password123', displayName: '홍길동' } });
    expect(r.status).toBe(201);
    expect(r.body.user).toMatchObject({ username, displayName: '홍길동', statusMessage: '' });
    expect(typeof r.body.user.id).toBe('string');
    expect(r.body.user).not.toHaveProperty('password_hash');
    expect(r.body.token).toMatch(/^[a-z2-7]+\.[a-z2-7]+$/);
    const cookie = sessionCookieOf(r)!;
    expect(cookie).toContain(`session=${encodeURIComponent(r.body.token)};`);
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    expect(cookie).toMatch(/;\s*Path=\//);
  });

  it('login answers 200 with the user and a new token, and sets the cookie', async () => {
    const u = await makeUser(server);
    const r = await call('POST', '/api/login', { body: { username: u.username.toUpperCase(), password: 'password123' } });
    expect(r.status).toBe(200);
    expect(r.body.user.id).toBe(u.id);
    expect(r.body.token).not.toBe(u.token);
    expect(sessionCookieOf(r)).toContain(`session=${encodeURIComponent(r.body.token)};`);
    expect((await call('GET', '/api/me', { bearer: r.body.token })).body.user.id).toBe(u.id);
  });

  it('refuses wrong credentials with 401 invalid-credentials and sets no cookie', async () => {
    const u = await makeUser(server);
    for (const body of [{ username: u.username, password: 'password124' }, { username: 'no_such_user', password: 'password123' }]) {
      const r = await call('POST', '/api/login', { body });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('invalid-credentials');
      expect(sessionCookieOf(r)).toBeUndefined();
    }
  });

  it('explains refused registrations with their codes', async () => {
    const taken = await makeUser(server);
    const cases: [unknown, number, string][] = [
      [{ username: 'no', password: 'password123' }, 400, 'invalid-username'],
      [{ username: 'bad name!', password: 'password123' }, 400, 'invalid-username'],
      [{ username: freshName(), password: 'short1' }, 400, 'weak-password'],
      [{ username: freshName(), password: 'lettersonly' }, 400, 'weak-password'],
      [{ username: taken.username.toUpperCase(), password: 'password123' }, 409, 'username-taken'],
      [{ username: freshName() }, 400, 'validation-failed'],
    ];
    for (const [body, status, code] of cases) {
      const r = await call('POST', '/api/register', { body });
      expect([r.status, r.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
    }
  });
});

describe('cookie authentication and CSRF', () => {
  it('accepts the cookie for reads without an Origin', async () => {
    const u = await makeUser(server);
    const r = await call('GET', '/api/me', { cookie: u.token });
    expect(r.status).toBe(200);
    expect(r.body.user.id).toBe(u.id);
  });

  it('refuses a cookie-authenticated write without an Origin or from a foreign one (403 bad-origin)', async () => {
    const u = await makeUser(server);
    for (const origin of [undefined, 'http://evil.example', server.url.replace('127.0.0.1', 'localhost'), 'null']) {
      const r = await call('PATCH', '/api/me', { cookie: u.token, origin, body: { statusMessage: 'pwned' } });
      expect([r.status, r.body.error?.code], String(origin)).toEqual([403, 'bad-origin']);
    }
    expect((await u.api('GET', '/api/me')).body.user.statusMessage).toBe('');
  });

  it("accepts a cookie-authenticated write from the server's own origin", async () => {
    const u = await makeUser(server);
    const r = await call('PATCH', '/api/me', { cookie: u.token, origin: server.url, body: { statusMessage: '회의 중' } });
    expect(r.status).toBe(200);
    expect(r.body.user.statusMessage).toBe('회의 중');
  });

  it('accepts a bearer-authenticated write without an Origin', async () => {
    const u = await makeUser(server);
    const r = await call('PATCH', '/api/me', { bearer: u.token, body: { statusMessage: 'via token' } });
    expect(r.status).toBe(200);
    expect(r.body.user.statusMessage).toBe('via token');
  });

  it('answers 401 unauthorized without a session, with a bad token and with a bad cookie', async () => {
    for (const opts of [{}, { bearer: 'abc.def' }, { cookie: 'abc.def' }, { bearer: 'x'.repeat(500) }]) {
      const r = await call('GET', '/api/me', opts);
      expect([r.status, r.body.error.code]).toEqual([401, 'unauthorized']);
    }
  });
});

describe('profile', () => {
  it('GET /api/me returns the user and the current session id; PATCH changes the profile', async () => {
    const u = await makeUser(server);
    const me = await u.api('GET', '/api/me');
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: u.id, username: u.username, displayName: u.username, isAdmin: expect.any(Boolean) });
    expect(me.body.sessionId).toBe(u.token.split('.')[0]);

    const patched = await u.api('PATCH', '/api/me', { displayName: '  김철수 ', statusMessage: '휴가' });
    expect(patched.status).toBe(200);
    expect(patched.body.user).toMatchObject({ displayName: '김철수', statusMessage: '휴가' });
    expect((await u.api('GET', '/api/me')).body.user).toMatchObject({ displayName: '김철수', statusMessage: '휴가' });
  });

  it('refuses an empty display name and unknown fields', async () => {
    const u = await makeUser(server);
    expect((await u.api('PATCH', '/api/me', { displayName: '   ' })).body.error.code).toBe('validation-failed');
    expect((await u.api('PATCH', '/api/me', { isAdmin: true })).body.error.code).toBe('validation-failed');
    expect((await u.api('GET', '/api/me')).body.user.isAdmin).toBe(false);
  });

  it('shows a new display name in the directory', async () => {
    const [u, other] = [await makeUser(server), await makeUser(server)];
    await u.api('PATCH', '/api/me', { displayName: 'Directory Name' });
    const r = await other.api('GET', `/api/users?q=${encodeURIComponent('Directory Name')}`);
    expect(r.body.users.map((x: { id: string }) => x.id)).toContain(u.id);
  });
});

describe('account deletion', () => {
  it('needs the password: a wrong one is 401 invalid-credentials and the account stays', async () => {
    const u = await makeUser(server);
    const r = await u.api('DELETE', '/api/me', { password: 'password124' });
    expect([r.status, r.body.error.code]).toEqual([401, 'invalid-credentials']);
    expect((await u.api('GET', '/api/me')).status).toBe(200);
  });

  it('ends the sessions, hands rooms to the longest-standing member and removes rooms left empty', async () => {
    const [owner, early, late] = [await makeUser(server), await makeUser(server), await makeUser(server)];
    const group = await makeRoom(owner, [late]);
    await owner.api('POST', `/api/rooms/${group.id}/members`, { userIds: [early.id] });
    const lonely = await makeRoom(owner, [late]);
    await late.api('POST', `/api/rooms/${lonely.id}/leave`);
    const direct = (await owner.api('POST', '/api/rooms', { memberIds: [early.id] })).body.room;

    const socket = connectSocket(server.wsUrl);
    const live = await openDoc(socket, `room:${group.id}:0`, owner.token);

    const r = await owner.api('DELETE', '/api/me', { password: 'password123' });
    expect(r.status).toBe(204);
    expect(r.body).toBeNull();

    expect((await owner.api('GET', '/api/me')).status).toBe(401);
    expect((await apiClient(server.url)('POST', '/api/login', { username: owner.username, password: 'password123' })).status).toBe(401);
    await waitFor(() => live.closes.length > 0, { timeout: 1000, message: 'the deleted user socket to close' });

    const g = (await late.api('GET', `/api/rooms/${group.id}`)).body.room;
    expect(Object.fromEntries(g.members.map((m: { id: string; role: string }) => [m.id, m.role]))).toEqual({ [late.id]: 'admin', [early.id]: 'member' });
    expect((await late.api('GET', `/api/rooms/${lonely.id}`)).status).toBe(404);
    const d = (await early.api('GET', `/api/rooms/${direct.id}`)).body.room;
    expect(d.members.map((m: { id: string }) => m.id)).toEqual([early.id]);
    const users = (await early.api('GET', `/api/users?q=${owner.username}`)).body.users;
    expect(users.map((x: { id: string }) => x.id)).not.toContain(owner.id);
    socket.destroy();
  });
});

describe('the login rate limit', () => {
  let limited: TestServer;
  beforeAll(async () => {
    // the per-username lockout would trip first (after 5 failures): it has its own tests (rate-limits.test.ts)
    limited = await startServer({}, { rateLimits: { auth: { ...RATE_LIMITS.auth }, lockout: { ...RATE_LIMITS.lockout, points: 10_000 } } });
  });
  afterAll(() => limited.close());

  it(`refuses the ${RATE_LIMITS.auth.points + 1}th attempt within the window with 429 rate-limited, even with the right password`, async () => {
    // created behind the limiter's back so that every counted attempt is a login
    await limited.app.services.accounts.register({ username: 'target', password: 'password123' });
    const api = apiClient(limited.url);
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMITS.auth.points; i++) statuses.push((await api('POST', '/api/login', { username: 'target', password: `guess${i}xyz` })).status);
    expect(statuses).toEqual(Array(RATE_LIMITS.auth.points).fill(401));

    const blocked = await api('POST', '/api/login', { username: 'target', password: 'password123' });
    expect([blocked.status, blocked.body.error.code]).toEqual([429, 'rate-limited']);
    // registration is counted apart (`register`, 5 per minute per IP)
    const register = await api('POST', '/api/register', { username: 'another', password: 'password123' });
    expect(register.status).toBe(201);
    expect((await api('GET', '/api/config')).body.rateLimits.auth).toMatchObject({ points: RATE_LIMITS.auth.points, durationSec: RATE_LIMITS.auth.durationSec });
  });
});
