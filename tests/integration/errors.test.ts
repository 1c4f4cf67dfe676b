/**
 * Bad input over HTTP (SPEC §6): every error is JSON `{ error: { code, message } }` with the right
 * 4xx status, and nothing a client sends produces a 500 — checked route by route with garbage.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, type TestServer, type TestUser } from '../helpers/server.ts';
import { apiRoutes } from '../../server/http/api.ts';
import { MAX_JSON_BYTES } from '../../server/http/router.ts';

let server: TestServer;
let user: TestUser;
let roomId: string;
beforeAll(async () => {
  server = await startServer();
  user = await makeUser(server);
  roomId = (await makeRoom(user, [await makeUser(server)])).id;
});
afterAll(() => server.close());

interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** A request sent exactly as given (no URL normalisation, any headers, chunked bodies). */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer | (string | Buffer)[]): Promise<RawReply> {
  const { hostname, port } = new URL(server.url);
  // a single body is announced with its length (Node sends GET/DELETE bodies neither chunked nor framed otherwise)
  if (body !== undefined && !Array.isArray(body)) headers = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (Array.isArray(body)) for (const part of body) req.write(part);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };
const auth = () => ({ authorization: `Bearer ${user.token}` });

/** Asserts the one error shape with a kebab-case code and a human message. */
function expectError(r: RawReply, status: number, code?: string) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(r.json?.error?.code, r.text).toMatch(/^[a-z]+(-[a-z]+)*$/);
  expect(typeof r.json.error.message).toBe('string');
  if (code) expect(r.json.error.code).toBe(code);
}

describe('malformed bodies', () => {
  it('invalid JSON is 400 invalid-json', async () => {
    for (const body of ['{', '{"username": "a",}', "{'username': 'a'}", 'undefined', 'NaN', '{"a":1}{"b":2}', '\u0000', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]) {
      expectError(await raw('POST', '/api/login', JSON_TYPE, body), 400, 'invalid-json');
      expectError(await raw('PATCH', '/api/me', { ...JSON_TYPE, ...auth() }, body), 400, 'invalid-json');
    }
  });

  it('valid JSON of the wrong shape is 400 validation-failed', async () => {
    const bodies: [string, string, unknown][] = [
      ['POST', '/api/login', null],
      ['POST', '/api/login', []],
      ['POST', '/api/login', 'username'],
      ['POST', '/api/login', 42],
      ['POST', '/api/login', { username: 123, password: 'password123' }],
      ['POST', '/api/login', { username: ['a'], password: 'password123' }],
      ['POST', '/api/login', { username: 'someone' }],
      ['POST', '/api/register', { username: 'someone', password: { $ne: '' } }],
      ['POST', '/api/rooms', { name: 'x', memberIds: 'everyone' }],
      ['POST', '/api/rooms', { name: 7, memberIds: [user.id] }],
      ['POST', '/api/rooms', { memberIds: [null] }],
      ['POST', '/api/rooms', { memberIds: [''] }],
      ['POST', '/api/rooms', { memberIds: ['x'.repeat(65)] }],
      ['POST', '/api/rooms', { memberIds: Array.from({ length: 501 }, (_, i) => `u${i}`) }],
      ['PUT', `/api/rooms/${roomId}/admins/${user.id}`, { admin: 'true' }],
      ['PUT', `/api/rooms/${roomId}/admins/${user.id}`, { admin: 1 }],
      ['PATCH', `/api/rooms/${roomId}`, { visibility: 'everyone' }],
      ['PUT', `/api/rooms/${roomId}/prefs`, { pinned: 'yes' }],
      ['PUT', '/api/me/password', { currentPassword: 'password123', newPassword: null }],
    ];
    for (const [method, path, body] of bodies) {
      expectError(await raw(method, path, { ...JSON_TYPE, ...auth() }, JSON.stringify(body)), 400, 'validation-failed');
    }
  });

  it('unknown fields are 400 validation-failed and change nothing', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/api/register', { username: 'sneaky_admin', password: 'password123', isAdmin: true }],
      ['POST', '/api/login', { username: user.username, password: 'password123', remember: true }],
      ['PATCH', '/api/me', { displayName: 'x', isAdmin: true }],
      ['PATCH', '/api/me', JSON.parse('{"__proto__": {"isAdmin": true}}')],
      ['POST', '/api/rooms', { memberIds: [user.id], kind: 'direct' }],
      ['PATCH', `/api/rooms/${roomId}`, { name: 'x', kind: 'direct' }],
      ['PUT', `/api/rooms/${roomId}/prefs`, { pinned: true, role: 'admin' }],
    ];
    for (const [method, path, body] of cases) {
      expectError(await raw(method, path, { ...JSON_TYPE, ...auth() }, JSON.stringify(body)), 400, 'validation-failed');
    }
    const login = await raw('POST', '/api/login', JSON_TYPE, JSON.stringify({ username: 'sneaky_admin', password: 'password123' }));
    expect(login.status).toBe(401);
  });

  it(`a body over ${MAX_JSON_BYTES / 1024} KiB is 413 payload-too-large, announced or streamed`, async () => {
    const big = JSON.stringify({ username: 'a', password: 'x'.repeat(MAX_JSON_BYTES) });
    expectError(await raw('POST', '/api/login', JSON_TYPE, big), 413, 'payload-too-large');
    expectError(await raw('PATCH', '/api/me', { ...JSON_TYPE, ...auth() }, big), 413, 'payload-too-large');
    const pieces = Array.from({ length: 8 }, () => 'x'.repeat(16 * 1024));
    expectError(await raw('POST', '/api/login', { ...JSON_TYPE, 'transfer-encoding': 'chunked' }, pieces), 413, 'payload-too-large');
    // exactly at the limit is still read (and then judged on its content)
    const atLimit = JSON.stringify({ statusMessage: 'x'.repeat(MAX_JSON_BYTES - 20) }).padEnd(MAX_JSON_BYTES, ' ');
    expect(Buffer.byteLength(atLimit)).toBe(MAX_JSON_BYTES);
    expectError(await raw('PATCH', '/api/me', { ...JSON_TYPE, ...auth() }, atLimit), 400, 'validation-failed');
  });

  it('a body that is not JSON is 415 unsupported-media-type', async () => {
    const body = JSON.stringify({ username: user.username, password: 'password123' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      expectError(await raw('POST', '/api/login', { 'content-type': type }, body), 415, 'unsupported-media-type');
    }
    expectError(await raw('POST', '/api/login', {}, body), 415, 'unsupported-media-type');
    const ok = await raw('POST', '/api/login', { 'content-type': 'Application/JSON; charset=utf-8' }, body);
    expect(ok.status).toBe(200);
  });
});

describe('routing', () => {
  it('an unknown route is a JSON 404', async () => {
    for (const path of ['/api/nope', '/api', '/api/', '/api/rooms/x/y/z', '/api/me/', '/api/ROOMS']) {
      expectError(await raw('GET', path, auth()), 404, 'not-found');
    }
  });

  it('a known route with the wrong method is 405 with an Allow header', async () => {
    const r = await raw('GET', '/api/login');
    expectError(r, 405, 'method-not-allowed');
    expect(r.headers.allow).toBe('POST');
    const me = await raw('POST', '/api/me', auth());
    expectError(me, 405, 'method-not-allowed');
    expect(me.headers.allow!.split(', ').sort()).toEqual(['DELETE', 'GET', 'PATCH']);
    for (const method of ['PUT', 'OPTIONS', 'TRACE']) expect((await raw(method, '/api/rooms', auth())).status).toBe(405);
  });

  it('weird ids are answered with a 4xx, never a 500', async () => {
    const weird = ['%%', '%', '%zz', '%00', '%2F', '..', '.', '%E0%A4%A', '%C0%AF', encodeURIComponent('방이름'), encodeURIComponent('😀'), 'a'.repeat(5000), encodeURIComponent("' OR 1=1 --"), 'null', '0', '-1'];
    for (const id of weird) {
      for (const path of [`/api/rooms/${id}`, `/api/rooms/${id}/members/${id}`, `/api/me/sessions/${id}`]) {
        const r = await raw('GET', path, auth());
        expect(r.status, path).toBeGreaterThanOrEqual(400);
        expect(r.status, path).toBeLessThan(500);
      }
      const get = await raw('GET', `/api/rooms/${id}`, auth());
      if (get.status !== 405) expectError(get, get.status);
    }
    expectError(await raw('GET', '/api/rooms/%%', auth()), 400, 'bad-request');
    expectError(await raw('GET', `/api/rooms/${'a'.repeat(5000)}`, auth()), 404, 'not-found');
    expect((await raw('GET', `/api/rooms/${'a'.repeat(20_000)}`, auth())).status).toBe(431); // Node refuses the header itself
  });

  it('odd query strings are harmless', async () => {
    for (const q of ['q=%%', 'q=%ED%A0%80', 'limit=-5', 'limit=1e400', 'limit=abc', 'q=' + 'x'.repeat(4000), 'q[]=a&q[]=b', 'q=%25_%5C']) {
      const r = await raw('GET', `/api/users?${q}`, auth());
      expect(r.status, q).toBe(200);
      expect(Array.isArray(r.json.users)).toBe(true);
    }
  });
});

describe('garbage on every route', () => {
  const garbageBodies: { type?: string; body?: string | Buffer }[] = [
    {},
    { type: 'application/json', body: '' },
    { type: 'application/json', body: '{' },
    { type: 'application/json', body: 'null' },
    { type: 'application/json', body: '[]' },
    { type: 'application/json', body: '"text"' },
    { type: 'application/json', body: '-1e999' },
    { type: 'application/json', body: '{}' },
    { type: 'application/json', body: '{"__proto__":{"admin":true},"constructor":{"prototype":{}}}' },
    { type: 'application/json', body: JSON.stringify({ username: '\ud800', password: '\udfff', displayName: '\u0000', name: '\u202e', memberIds: [{}], userIds: [[]], admin: null, pinned: 0, currentPassword: 1, newPassword: true, visibility: 'shared' }) },
    { type: 'application/json', body: JSON.stringify({ memberIds: ['\ud800'], userIds: ['x'.repeat(64)], name: 'x'.repeat(200) }) },
    { type: 'application/json', body: '['.repeat(20_000) + ']'.repeat(20_000) },
    { type: 'application/json', body: '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000) },
    { type: 'application/json', body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) },
    { type: 'text/plain', body: 'hello' },
    { type: 'application/json', body: 'x'.repeat(70 * 1024) },
  ];
  const paramValues = ['%%', 'x', 'a'.repeat(300), encodeURIComponent('한국어'), '%00', 'ROOM'];

  it('never answers 500, with or without a session, and every error is the one JSON shape', async () => {
    const victim = await makeUser(server);
    const routes = apiRoutes(server.app.services, { stats: async () => ({}), readMessage: server.app.collab.readMessage }).sort((a, b) => Number(a.path === '/api/logout') - Number(b.path === '/api/logout'));
    const cookie = `session=${encodeURIComponent(user.token)}`;
    const credentials: Record<string, string>[] = [{}, auth(), { cookie }, { cookie, origin: server.url }];
    const seen: string[] = [];
    const probes = (route: (typeof routes)[number]) => {
      const paths = route.path.includes(':')
        ? [...paramValues.map((v) => route.path.replace(/:[a-zA-Z]+/g, v)), route.path.replace(':id', roomId).replace(':userId', user.id)]
        : [route.path];
      return paths.flatMap((path) => garbageBodies.flatMap(({ type, body }) => credentials.map((headers) => async () => {
        const r = await raw(route.method, path, { ...(type ? { 'content-type': type } : {}), ...headers }, body);
        seen.push(`${r.status} ${route.method} ${path.slice(0, 40)}`);
        expect(r.status, `${route.method} ${path.slice(0, 80)} ${String(body).slice(0, 40)}`).toBeLessThan(500);
        if (r.status >= 400) expectError(r, r.status);
      })));
    };
    // six at a time (the routes are many), logout last and alone: it ends the session the others use
    const queue = routes.filter((r) => r.path !== '/api/logout').flatMap(probes);
    await Promise.all(Array.from({ length: 6 }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    }));
    for (const route of routes.filter((r) => r.path === '/api/logout')) for (const job of probes(route)) await job();
    expect(seen.length).toBeGreaterThan(1000);
    // the server is still healthy, and nothing was changed by the garbage
    expect((await raw('GET', '/healthz')).status).toBe(200);
    expect((await victim.api('GET', '/api/me')).status).toBe(200);
    // (the garbage reached logout last, which ended that session: log in again)
    const login = await raw('POST', '/api/login', JSON_TYPE, JSON.stringify({ username: user.username, password: 'password123' }));
    expect(login.status).toBe(200);
    expect(login.json.user).toMatchObject({ id: user.id, username: user.username, displayName: user.username, statusMessage: '' });
    // (thousands of requests: ~8 s on a quiet machine, far more on a loaded one)
  }, 120_000);
});
