/**
 * Issue 12 §4: table-driven HTTP fuzzing of every `/api` endpoint. The table is the router's own
 * route list (apiRoutes), and the field names come from the route schemas in server/http/api.ts,
 * so a new endpoint or field is fuzzed without touching this file. Each category (broken JSON,
 * wrong types, unknown fields, huge bodies, bad ids, bad multipart) goes to every route with a
 * valid session and valid ids, so that the garbage reaches the body parser: the answer is never a
 * 5xx, an error is always the JSON `{ error: { code, message } }`, a route that reads a body refuses
 * garbage with a 4xx, and no request hangs. Seeded (printed) random values; bounded in time.
 */
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, type TestServer, type TestUser } from '../helpers/server.ts';
import { apiRoutes } from '../../server/http/api.ts';
import type { Route } from '../../server/http/router.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 1212);
console.log(`fuzz-http seed ${SEED} (FUZZ_SEED=… to replay another)`);

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

/** Every field name a route schema declares (`name: z.…` in api.ts): new fields are fuzzed too. */
const FIELDS = [...new Set([...fs.readFileSync(new URL('../../server/http/api.ts', import.meta.url), 'utf8').matchAll(/\b([a-zA-Z_]+): (?:z\.|id\b|visibility\b|day\b)/g)].map((m) => m[1]))];

const WRONG_VALUES: unknown[] = [null, true, false, 0, -1, 1e308, -0.5, '', 'x', '\u0000', '\ud800', 'a'.repeat(5000), [], [null], [[]], {}, { $ne: '' }, { __proto__: { admin: true } }, [1, 'a', {}], Number.MAX_SAFE_INTEGER + 2];

/** A body whose every known field has a random wrong-typed value. */
function wrongTypes(): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of FIELDS) if (rand() < 0.5) body[f] = pick(WRONG_VALUES);
  return body;
}

let server: TestServer;
let admin: TestUser;
let member: TestUser;
let roomId: string;
let routes: Route[];
beforeAll(async () => {
  server = await startServer();
  admin = await makeUser(server); // the first account: a server admin, so that admin routes parse their bodies too
  member = await makeUser(server);
  roomId = (await makeRoom(admin, [member], { name: 'fuzz' })).id;
  // logout (it ends the session) and deletions last: the rest should meet a live session and room
  routes = apiRoutes(server.app.services, { stats: async () => ({}), readMessage: server.app.collab.readMessage })
    .sort((a, b) => rank(a) - rank(b));
});
afterAll(() => server.close());

const rank = (r: Route) => (r.path === '/api/logout' ? 3 : r.method === 'DELETE' ? (r.path === '/api/me' ? 2 : 1) : 0);
const readsBody = (r: Route) => /ctx\.(body|raw)\(/.test(r.handler.toString());

/** Real ids where they exist (so that the handler gets as far as the body), a stand-in elsewhere. */
function realPath(r: Route): string {
  return r.path.replace(/:([a-zA-Z]+)/g, (_, k: string) => (k === 'id' ? roomId : k === 'userId' ? member.id : 'x'));
}

interface Answer {
  status: number;
  type: string;
  text: string;
}

const TIMEOUT_MS = 10_000;

/** One request; a hang (no answer within TIMEOUT_MS) fails the test. */
function send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer | (string | Buffer)[]): Promise<Answer> {
  const { hostname, port } = new URL(server.url);
  if (body !== undefined && !Array.isArray(body)) headers = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers, agent: false, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`hang: ${method} ${path} gave no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    if (Array.isArray(body)) for (const part of body) req.write(part);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}

interface Probe {
  type?: string;
  body?: string | Buffer | (string | Buffer)[];
  /** This garbage must be refused (4xx) by a route that reads a body. */
  refused: boolean;
  label: string;
}

/** Sends every probe to every route (4 at a time) and checks the invariants. */
async function fuzz(probes: Probe[], paths: (r: Route) => string[] = (r) => [realPath(r)]) {
  const jobs: (() => Promise<void>)[] = [];
  const outcomes = new Map<number, number>();
  for (const route of routes) {
    for (const path of paths(route)) {
      for (const p of probes) {
        jobs.push(async () => {
          const token = route.path === '/api/logout' ? (await makeUser(server)).token : admin.token;
          const what = `${route.method} ${route.path} [${p.label}] → `;
          const a = await send(route.method, path, { authorization: `Bearer ${token}`, ...(p.type ? { 'content-type': p.type } : {}) }, p.body);
          outcomes.set(a.status, (outcomes.get(a.status) ?? 0) + 1);
          expect(a.status, `${what}${a.status} ${a.text.slice(0, 120)}`).toBeLessThan(500);
          if (a.status >= 400) {
            expect(a.type, what).toMatch(/^application\/json/);
            const json = JSON.parse(a.text);
            expect(json.error.code, what).toMatch(/^[a-z]+(-[a-z]+)*$/);
            expect(typeof json.error.message, what).toBe('string');
          }
          if (p.refused && readsBody(route) && path === realPath(route)) expect(a.status, `${what}${a.text.slice(0, 120)}`).toBeGreaterThanOrEqual(400);
        });
      }
    }
  }
  // the routes in order, four requests at a time (logout and deletions are at the end of the queue)
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await job();
  }));
  // still healthy afterwards
  expect((await send('GET', '/healthz', {})).status).toBe(200);
  return outcomes;
}

const JSON_TYPE = 'application/json';

describe(`every /api route under garbage (seed ${SEED})`, () => {
  it('derives its table from the router', () => {
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter(readsBody).length).toBeGreaterThanOrEqual(20);
    expect(FIELDS).toEqual(expect.arrayContaining(['username', 'password', 'memberIds', 'seq', 'optionIds', 'query']));
  });

  it('broken JSON is a 4xx JSON error', async () => {
    const broken = ['{', '{"a":', '{"a":1,}', "{'a':1}", 'nul', '[1,2', '"unterminated', '{"a":1}{"b":2}', '\u0000{}'];
    const outcomes = await fuzz([
      ...Array.from({ length: 3 }, () => ({ type: JSON_TYPE, body: pick(broken), refused: true, label: 'broken json' })),
      { type: JSON_TYPE, body: Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0x7d]), refused: true, label: 'invalid utf-8' },
    ]);
    // the garbage reached the JSON parser (not only the auth or routing layers)
    expect(outcomes.get(400) ?? 0).toBeGreaterThanOrEqual(routes.filter(readsBody).length * 3);
  }, 60_000);

  it('wrong types are a 4xx JSON error', async () => {
    await fuzz([
      ...['null', '[]', '42', '"text"', 'true'].map((body) => ({ type: JSON_TYPE, body, refused: true, label: `top-level ${body}` })),
      ...Array.from({ length: 2 }, () => ({ type: JSON_TYPE, body: JSON.stringify(wrongTypes()), refused: false, label: 'wrong-typed fields' })),
    ]);
  }, 60_000);

  it('unknown fields are a 4xx JSON error', async () => {
    await fuzz([
      { type: JSON_TYPE, body: JSON.stringify({ isAdmin: true, role: 'admin', id: 'x' }), refused: true, label: 'unknown fields' },
      { type: JSON_TYPE, body: '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"admin":true}}}', refused: true, label: 'prototype keys' },
    ]);
    // and nothing became an admin
    expect((await member.api('GET', '/api/me')).body.user.isAdmin).toBe(false);
  }, 60_000);

  it('huge bodies are a 4xx JSON error, announced or streamed', async () => {
    const big = JSON.stringify({ text: 'x'.repeat(70 * 1024) });
    await fuzz([
      { type: JSON_TYPE, body: big, refused: true, label: 'over 64 KiB, announced' },
      { type: JSON_TYPE, body: Array.from({ length: 6 }, () => 'y'.repeat(16 * 1024)), refused: true, label: 'over 64 KiB, chunked' },
      { type: JSON_TYPE, body: '['.repeat(30_000) + ']'.repeat(30_000), refused: true, label: 'deep nesting' },
    ]);
  }, 60_000);

  it('bad ids in the path are a 4xx JSON error', async () => {
    const bad = ['%%', '%zz', '%00', '..', 'a'.repeat(300), encodeURIComponent('방\u202e'), "'%20OR%201=1--", '-1'];
    await fuzz([{ refused: false, label: 'no body' }], (r) => (r.path.includes(':') ? Array.from({ length: 3 }, () => {
      const v = pick(bad);
      return r.path.replace(/:[a-zA-Z]+/g, v);
    }) : []));
  }, 60_000);

  it('bad multipart is a 4xx JSON error', async () => {
    const cut = '--b\r\nContent-Disposition: form-data; name="room_id"\r\n\r\n' + roomId + '\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG';
    await fuzz([
      { type: 'multipart/form-data', body: '--b\r\n\r\n', refused: true, label: 'no boundary' },
      { type: 'multipart/form-data; boundary=b', body: 'garbage without parts', refused: true, label: 'no parts' },
      { type: 'multipart/form-data; boundary=b', body: cut, refused: true, label: 'cut mid-file' },
      { type: 'multipart/form-data; boundary=b', body: '--b\r\nContent-Disposition: form-data; name="file"; filename="../../etc/passwd"\r\n\r\nroot\r\n--b--\r\n', refused: true, label: 'file before room_id' },
    ]);
  }, 60_000);
});
