/**
 * No lost work on the client (issue 7 §2): Debian's Chromium against the production build and the
 * real server, with the server's real message limits (30 per 10 s per user, published by
 * `GET /api/config`). A burst of 40 goes out completely and in order; a refusal keeps the unsent
 * edits, deletes and posts and writes them again; `rate-limited` is waited out, never a loss; a
 * logout with unsent messages asks first; offline writes across a reload keep their order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeRoom, makeUser, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc } from '../helpers/collab.ts';
import type { Message, Receipt } from '../../src/lib/protocol/schema.ts';
import { rendered, connection, write, send, openControlled, messageAction } from './timeline-page.ts';
import { browserSuite, requireChromium, shoot, WAIT } from './browser-harness.ts';

const hasChromium = requireChromium('tests/e2e/unsent.test.ts');

const texts = async (page: Page) => (await rendered(page)).map((m) => m.text);
const settled = async (page: Page, n: number) => {
  const list = await rendered(page);
  return list.length === n && list.every((m) => !m.pending);
};
const numbered = (label: string, n: number) => Array.from({ length: n }, (_, i) => `${label} ${String(i + 1).padStart(2, '0')}`);

async function act(page: Page, text: string, action: 'Edit' | 'Delete'): Promise<void> {
  const msg = page.getByTestId('message').filter({ hasText: text }).first();
  await messageAction(msg, action);
}

/**
 * The open segment as the server holds it, in receipt order ('(deleted)' for tombstones); the
 * people's messages only (a group also has the server's "… invited …" line).
 */
function serverTimeline(server: TestServer, roomId: string): { id: string; text: string }[] {
  return timelineOf(server.app.collab.hocuspocus.documents.get(`room:${roomId}:0`));
}

function timelineOf(doc: import('yjs').Doc | undefined): { id: string; text: string }[] {
  if (!doc) return [];
  const receipts = doc.getMap<Receipt>('receipts');
  return [...doc.getMap<Message>('messages').values()]
    .filter((m) => receipts.has(m.id) && !m.system)
    .sort((a, b) => receipts.get(a.id)!.seq - receipts.get(b.id)!.seq)
    .map((m) => ({ id: m.id, text: m.deleted ? '(deleted)' : m.text }));
}
const serverTexts = (server: TestServer, roomId: string) => serverTimeline(server, roomId).map((m) => m.text);

/** What the server has stored, read by another member through a provider (also once unloaded). */
async function storedTexts(server: TestServer, reader: TestUser, roomId: string): Promise<string[]> {
  const socket = connectSocket(server.wsUrl);
  try {
    const { doc } = await openDoc(socket, `room:${roomId}:0`, reader.token);
    return timelineOf(doc).map((m) => m.text);
  } finally {
    socket.destroy();
  }
}

async function directRoom(a: TestUser, b: TestUser): Promise<string> {
  const res = await a.api('POST', '/api/rooms', { memberIds: [b.id] });
  expect(res.status).toBe(201);
  return res.body.room.id as string;
}

describe.runIf(hasChromium)('unsent work: pacing, refusals, logout, offline order', () => {
  const suite = browserSuite();
  const newContext = suite.newContext;
  let server: TestServer;
  beforeAll(() => {
    ({ server } = suite);
  });

  it('sends 40 messages written in a burst completely, in order, pending meanwhile, none refused', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const roomId = await directRoom(alice, bob);
    const a = await (await newContext(alice)).newPage();
    const b = await (await newContext(bob)).newPage();
    await a.goto(`${server.url}/rooms/${roomId}`);
    await b.goto(`${server.url}/rooms/${roomId}`);
    await waitFor(async () => (await connection(a)) === 'online', { timeout: WAIT, message: 'online' });

    const burst = numbered('burst', 40);
    const started = Date.now();
    for (const text of burst) await write(a, text);
    const wroteIn = Date.now() - started;
    // every one shows at once, in writing order; more than the server's 30 per 10 s cannot be sent yet
    await waitFor(async () => (await rendered(a)).length === 40, { timeout: WAIT, message: 'all 40 shown' });
    expect(await texts(a)).toEqual(burst);
    if (wroteIn < 9000) expect((await rendered(a)).filter((m) => m.pending).length).toBeGreaterThanOrEqual(10);
    await shoot(a, 'unsent-burst-pending');

    await waitFor(async () => (await settled(a, 40)) && (await settled(b, 40)), { timeout: 60_000, message: 'burst delivered' });
    expect(await texts(a)).toEqual(burst);
    expect(await texts(b)).toEqual(burst);
    expect(serverTexts(server, roomId)).toEqual(burst);
    expect(await a.getByTestId('failed-message').count()).toBe(0);
    expect(await a.locator('[data-testid="notice"][data-code="rate-limited"]').count()).toBe(0);
  }, 120_000);

  it('keeps unsent edits, deletes and posts through a refusal and writes them again', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const carol = await makeUser(server);
    const room = await makeRoom(alice, [bob, carol], { name: 'team' });
    expect((await alice.api('PUT', `/api/rooms/${room.id}/admins/${carol.id}`, { admin: true })).status).toBe(200);
    const bobPage = await (await newContext(bob)).newPage();
    await bobPage.goto(`${server.url}/rooms/${room.id}`);
    await send(bobPage, 'from bob');
    const ctx = await newContext(alice);
    const a = await ctx.newPage();
    await a.goto(`${server.url}/rooms/${room.id}`);
    for (const t of ['one', 'two', 'three']) await send(a, t);
    await waitFor(() => settled(a, 4), { timeout: WAIT, message: 'online messages acknowledged' });

    // offline, alice (an admin) deletes bob's message, edits and deletes her own, writes a new one
    await ctx.setOffline(true);
    await waitFor(async () => (await connection(a)) === 'offline', { timeout: WAIT, message: 'offline' });
    await act(a, 'from bob', 'Delete');
    await act(a, 'one', 'Edit');
    await write(a, 'one, edited offline');
    await a.getByTestId('message').filter({ hasText: 'one, edited offline' }).waitFor({ timeout: WAIT });
    await act(a, 'three', 'Delete');
    await send(a, 'four, offline');
    await waitFor(async () => (await texts(a)).join() === ['message deleted', 'one, edited offline', 'two', 'message deleted', 'four, offline'].join(), { timeout: WAIT, message: 'offline changes shown' });

    // meanwhile carol takes alice's admin role: deleting bob's message is now refused (not-author)
    expect((await carol.api('PUT', `/api/rooms/${room.id}/admins/${alice.id}`, { admin: false })).status).toBe(200);
    await ctx.setOffline(false);
    await a.locator('[data-testid="notice"][data-code="not-author"]').first().waitFor({ timeout: WAIT });

    // everything else alice did is written again and reaches the server; bob's message stays
    const expected = ['from bob', 'one, edited offline', 'two', '(deleted)', 'four, offline'];
    await waitFor(() => serverTexts(server, room.id).join('|') === expected.join('|'), { timeout: 30_000, message: `server has ${expected}` }).catch((e) => {
      throw new Error(`${e.message}; server: ${JSON.stringify(serverTexts(server, room.id))}`);
    });
    await waitFor(async () => (await texts(a)).join('|') === ['from bob', 'one, edited offline', 'two', 'message deleted', 'four, offline'].join('|') && (await settled(a, 5)), {
      timeout: WAIT,
      message: 'alice sees the server state',
    });
    await waitFor(async () => (await texts(bobPage)).join('|') === ['from bob', 'one, edited offline', 'two', 'message deleted', 'four, offline'].join('|'), { timeout: WAIT, message: 'bob sees it' });
    expect(await a.getByTestId('failed-message').count()).toBe(0);
    await shoot(a, 'unsent-refusal-replayed');
  }, 120_000);

  it('waits out rate-limited (a client that sent too fast) without dropping anything', async () => {
    const dave = await makeUser(server);
    const erin = await makeUser(server);
    const roomId = await directRoom(dave, erin);
    // this client is told a far larger allowance than the server enforces, so it overshoots
    const ctx = await newContext(dave, { serviceWorkers: 'block' });
    await ctx.route('**/api/config', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.rateLimits.messages = { ...body.rateLimits.messages, points: 100_000 };
      await route.fulfill({ response, json: body });
    });
    const d = await ctx.newPage();
    // the server's refusals as they arrive (a document CLOSE whose reason is the code)
    const refusals: string[] = [];
    d.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => void (String(payload).includes('rate-limited') && refusals.push('rate-limited'))));
    await d.goto(`${server.url}/rooms/${roomId}`);
    await send(d, 'first');
    await waitFor(() => settled(d, 1), { timeout: WAIT, message: 'first acknowledged' });
    // writes right after (re)connecting count against the larger backlog budget: keep writing
    // until the server has refused one (at most 100)
    const burst: string[] = [];
    while (refusals.length === 0 && burst.length < 100) {
      burst.push(`fast ${String(burst.length + 1).padStart(3, '0')}`);
      await write(d, burst.at(-1)!);
    }
    expect(refusals.length).toBeGreaterThan(0);
    // the server refused part of it (rate-limited); the client kept it and sent it again later.
    // The view renders the newest screenful (60, or all when fewer; how many were written before the
    // first refusal depends on timing): those are the tail, all acknowledged, in order.
    const all = ['first', ...burst];
    await waitFor(
      async () => {
        const list = await rendered(d);
        return serverTexts(server, roomId).join('|') === all.join('|') && list.length >= Math.min(50, all.length) && list.every((m) => !m.pending) && list.map((m) => m.text).join('|') === all.slice(-list.length).join('|');
      },
      { timeout: 60_000, message: 'all delivered' },
    ).catch(async (e) => {
      throw new Error(`${e.message}: server ${JSON.stringify(serverTexts(server, roomId))}`);
    });
    expect(await d.getByTestId('failed-message').count()).toBe(0);
    expect(refusals.length).toBeGreaterThan(0); // it really was refused, and nothing was lost
  }, 120_000);

  it('asks before logging out with unsent messages: cancel keeps them, waiting sends them first', async () => {
    const frank = await makeUser(server);
    const gina = await makeUser(server);
    const roomId = await directRoom(frank, gina);
    const ctx = await newContext(frank);
    const f = await ctx.newPage();
    await f.goto(`${server.url}/rooms/${roomId}`);
    await send(f, 'online one');
    await waitFor(() => settled(f, 1), { timeout: WAIT, message: 'acknowledged' });
    // settings (where logout lives) once while online, so that its code is here offline too
    await f.getByTestId('open-settings').click();
    await f.getByTestId('settings').waitFor({ timeout: WAIT });
    await f.getByTestId('room-link').first().click();
    await f.waitForURL(new RegExp(`/rooms/${roomId}`), { timeout: WAIT });
    await ctx.setOffline(true);
    await waitFor(async () => (await connection(f)) === 'offline', { timeout: WAIT, message: 'offline' });
    const offline = numbered('unsent', 3);
    for (const t of offline) await send(f, t);

    // logout lives in settings (one click from the sidebar)
    const askLogout = async () => {
      await f.getByTestId('open-settings').click();
      await f.getByTestId('settings-logout').click();
    };
    await askLogout();
    const dialog = f.getByTestId('logout-dialog');
    await dialog.waitFor({ timeout: WAIT });
    expect(await f.getByTestId('logout-unsent').getAttribute('data-count')).toBe('3');
    expect(await f.getByTestId('logout-unsent').innerText()).toContain('3 messages');
    await shoot(f, 'unsent-logout-dialog');
    const desktop = f.viewportSize();
    await f.setViewportSize({ width: 360, height: 740 });
    await shoot(f, 'unsent-logout-dialog-phone');
    if (desktop) await f.setViewportSize(desktop);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: WAIT });
    expect(f.url()).toContain('/settings');
    await f.getByTestId('room-link').first().click();
    await f.waitForURL(new RegExp(`/rooms/${roomId}`), { timeout: WAIT });
    await waitFor(async () => (await rendered(f)).filter((m) => m.pending).length === offline.length, { timeout: WAIT, message: 'pending shown again' });
    expect((await rendered(f)).filter((m) => m.pending).map((m) => m.text)).toEqual(offline);

    // ask again, choose to wait: the network returns, they go, then the logout happens
    await askLogout();
    await dialog.getByRole('button', { name: 'Wait, then log out' }).click();
    expect(await f.getByTestId('logout-unsent').innerText()).toContain('3 left');
    await ctx.setOffline(false);
    await f.waitForURL(/\/login$/, { timeout: 30_000 });
    expect(await storedTexts(server, gina, roomId)).toEqual(['online one', ...offline]);
  }, 120_000);

  it('keeps writing order offline across a reload: 15, reload, 5 more, then every screen and the server show 1–20', async () => {
    const hal = await makeUser(server);
    const ivy = await makeUser(server);
    const roomId = await directRoom(hal, ivy);
    const ctx = await newContext(hal);
    const h = await ctx.newPage();
    const i = await (await newContext(ivy)).newPage();
    await openControlled(h, `${server.url}/rooms/${roomId}`);
    await i.goto(`${server.url}/rooms/${roomId}`);
    await waitFor(async () => (await connection(h)) === 'online', { timeout: WAIT, message: 'online' });

    const all = numbered('ordered', 20);
    await ctx.setOffline(true);
    await waitFor(async () => (await connection(h)) === 'offline', { timeout: WAIT, message: 'offline' });
    for (const t of all.slice(0, 15)) await send(h, t);
    await h.reload();
    await h.getByTestId('message').filter({ hasText: all[14] }).waitFor({ timeout: WAIT });
    for (const t of all.slice(15)) await send(h, t);
    expect((await rendered(h)).map((m) => [m.text, m.pending])).toEqual(all.map((t) => [t, true]));

    await ctx.setOffline(false);
    await waitFor(async () => (await settled(h, 20)) && (await settled(i, 20)), { timeout: 30_000, message: 'delivered' });
    expect(await texts(h)).toEqual(all);
    expect(await texts(i)).toEqual(all);
    expect(serverTexts(server, roomId)).toEqual(all);
  }, 120_000);
});
