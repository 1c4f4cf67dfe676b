/**
 * Local-first data in the browser (issue 3): Debian's Chromium against the production build and
 * the real server. Writing offline, reloading and restarting the browser offline, reconnecting
 * with exactly-once delivery in one order, a refused message kept in its place for retry, two tabs agreeing
 * with no network, and a logout that leaves nothing of the user on the device.
 *
 * Going offline uses `context.setOffline(true)`; the app reacts to the browser's `offline` event
 * by closing its socket (an emulated network loss does not always cut an open WebSocket), and the
 * tests check both what the app shows (the connection banner) and what the server has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { makeUser, startServer, TEST_LIMITS, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { acked, connectSocket, openDoc, post } from '../helpers/collab.ts';
import { loadSvelteKitHandler } from '../../server/index.ts';
import { rendered, connection, write, send, openControlled } from './timeline-page.ts';
import { browserSuite, LAUNCH, launchBrowser, requireChromium, ROOT, shoot, signIn, startAppServer, WAIT, watchForeign } from './browser-harness.ts';

const hasChromium = requireChromium('tests/e2e/offline.test.ts');

/** Texts of a segment as the server holds it (loaded documents only; none loaded = none). */
function serverTexts(server: TestServer, roomId: string, n = 0): string[] {
  const doc = server.app.collab.hocuspocus.documents.get(`room:${roomId}:${n}`);
  return doc ? [...doc.getMap<{ text: string }>('messages').values()].map((m) => m.text) : [];
}

async function directRoom(a: TestUser, b: TestUser): Promise<string> {
  const res = await a.api('POST', '/api/rooms', { memberIds: [b.id] });
  expect(res.status).toBe(201);
  return res.body.room.id as string;
}

/** The user's read position as the room's head document shows it. */
function readSeqOnServer(server: TestServer, roomId: string, userId: string): number | undefined {
  return server.app.collab.hocuspocus.documents.get(`room:${roomId}`)?.getMap<number>('reads').get(userId);
}

const userDatabases = (page: Page, userId: string) =>
  page.evaluate(async (prefix) => (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith(prefix)), `msgr:${userId}:`);

describe.runIf(hasChromium)('local-first data: offline, reload, reconnect, logout', () => {
  const suite = browserSuite();
  const newContext = suite.newContext;
  const foreign = suite.foreign;
  let server: TestServer;
  let browser: Browser;
  beforeAll(() => {
    ({ server, browser } = suite);
  });

  it('writes offline, survives an offline reload pending, and converges to one order with no duplicate', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const roomId = await directRoom(alice, bob);
    const a = await (await newContext(alice)).newPage();
    const bContext = await newContext(bob);
    const b = await bContext.newPage();
    const aContext = a.context();
    await openControlled(a, `${server.url}/rooms/${roomId}`);
    await b.goto(`${server.url}/rooms/${roomId}`);

    // they chat online first
    await send(a, 'hi bob');
    await send(b, 'hi alice');
    await waitFor(async () => (await rendered(a)).length === 2 && (await rendered(b)).length === 2, { timeout: WAIT, message: 'online chat' });
    expect(await connection(a)).toBe('online');

    // alice loses the network: the app knows it, and the server gets nothing of what she writes
    await aContext.setOffline(true);
    await waitFor(async () => (await connection(a)) === 'offline', { timeout: WAIT, message: 'offline banner' });
    const aliceTexts = Array.from({ length: 20 }, (_, i) => `alice offline ${String(i + 1).padStart(2, '0')}`);
    const bobTexts = Array.from({ length: 20 }, (_, i) => `bob online ${String(i + 1).padStart(2, '0')}`);
    for (let i = 0; i < 20; i++) {
      await send(a, aliceTexts[i]);
      await send(b, bobTexts[i]);
    }
    await waitFor(async () => (await rendered(b)).filter((m) => !m.pending).length === 22, { timeout: WAIT, message: "bob's messages acknowledged" });
    expect((await rendered(a)).filter((m) => aliceTexts.includes(m.text) && m.pending)).toHaveLength(20);
    expect(serverTexts(server, roomId).filter((t) => aliceTexts.includes(t))).toEqual([]);
    expect((await rendered(b)).map((m) => m.text)).not.toContain(aliceTexts[0]);

    // still offline, alice reloads: the app loads from the service worker, her 20 are there, pending
    await a.reload();
    await a.getByTestId('message').filter({ hasText: aliceTexts[19] }).waitFor({ timeout: WAIT });
    const afterReload = await rendered(a);
    expect(afterReload.filter((m) => aliceTexts.includes(m.text)).map((m) => [m.text, m.pending])).toEqual(aliceTexts.map((t) => [t, true]));
    expect(await connection(a)).toBe('offline');
    await shoot(a, 'offline-reloaded');
    expect(serverTexts(server, roomId).filter((t) => aliceTexts.includes(t))).toEqual([]);

    // back online: both show the same 42 messages in the same order, each once, none pending
    await aContext.setOffline(false);
    const settled = async (page: Page) => {
      const list = await rendered(page);
      return list.length === 42 && list.every((m) => !m.pending);
    };
    await waitFor(async () => (await settled(a)) && (await settled(b)), { timeout: 30_000, message: 'both converge' });
    const seenByA = await rendered(a);
    const seenByB = await rendered(b);
    expect(seenByA).toEqual(seenByB);
    expect(new Set(seenByA.map((m) => m.id)).size).toBe(42);
    expect(new Set(seenByA.map((m) => m.text)).size).toBe(42);
    for (const t of [...aliceTexts, ...bobTexts]) expect(seenByA.filter((m) => m.text === t)).toHaveLength(1);
    // each side's messages keep their own order
    expect(seenByA.map((m) => m.text).filter((t) => aliceTexts.includes(t))).toEqual(aliceTexts);
    expect(seenByA.map((m) => m.text).filter((t) => bobTexts.includes(t))).toEqual(bobTexts);
    expect(serverTexts(server, roomId).filter((t) => aliceTexts.includes(t)).sort()).toEqual(aliceTexts);
    expect(await connection(a)).toBe('online');
    await shoot(a, 'offline-converged-alice');
    await shoot(b, 'offline-converged-bob');

    // the room list is computed locally: preview of the last message, bob has nothing unread
    await b.getByTestId('room-preview').filter({ hasText: aliceTexts[19] }).waitFor({ timeout: WAIT });
    expect(await b.getByTestId('room-unread').count()).toBe(0);
  }, 180_000);

  it('cold-starts offline after one online visit and keeps offline writes across a browser restart', async () => {
    const carol = await makeUser(server);
    const dave = await makeUser(server);
    const roomId = await directRoom(dave, carol);
    // dave wrote before carol ever opened the app
    const daveCtx = await newContext(dave);
    const d = await daveCtx.newPage();
    await d.goto(`${server.url}/rooms/${roomId}`);
    await send(d, 'history from dave');

    // carol's browser with a profile on disk, so that a restart keeps IndexedDB and the worker
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-offline-'));
    const launch = async (offline: boolean) => {
      const ctx = await chromium.launchPersistentContext(dir, { ...LAUNCH, viewport: { width: 1100, height: 800 }, locale: 'en-US', offline });
      watchForeign(ctx, server, foreign);
      return ctx;
    };
    let ctx = await launch(false);
    try {
      // like the server's own cookie (Max-Age): it outlives a browser restart
      const expires = Math.floor(Date.now() / 1000) + 86_400;
      await ctx.addCookies([{ name: 'session', value: encodeURIComponent(carol.token), url: server.url, httpOnly: true, sameSite: 'Lax', expires }]);
      let c = ctx.pages()[0] ?? (await ctx.newPage());
      await openControlled(c, `${server.url}/`);
      await c.getByTestId('room-preview').filter({ hasText: 'history from dave' }).waitFor({ timeout: WAIT });
      await c.getByTestId('room-link').first().click();
      await c.getByTestId('message').filter({ hasText: 'history from dave' }).waitFor({ timeout: WAIT });
      await c.waitForTimeout(500); // IndexedDB writes settle
      await ctx.close();

      // the browser starts with no network at all: room list and history come from the device
      ctx = await launch(true);
      c = ctx.pages()[0] ?? (await ctx.newPage());
      await c.goto(`${server.url}/`);
      await c.getByTestId('room-preview').filter({ hasText: 'history from dave' }).waitFor({ timeout: WAIT });
      expect(await connection(c)).toBe('offline');
      await c.getByTestId('room-link').first().click();
      await c.getByTestId('message').filter({ hasText: 'history from dave' }).waitFor({ timeout: WAIT });
      await shoot(c, 'offline-cold-start');

      // written offline, then the browser is closed and restarted, still offline: still there, pending
      await send(c, 'written before a restart');
      await c.waitForTimeout(500);
      await ctx.close();
      ctx = await launch(true);
      c = ctx.pages()[0] ?? (await ctx.newPage());
      await c.goto(`${server.url}/rooms/${roomId}`);
      const kept = c.getByTestId('message').filter({ hasText: 'written before a restart' });
      await kept.waitFor({ timeout: WAIT });
      expect(await kept.getAttribute('data-pending')).toBe('true');
      expect(serverTexts(server, roomId)).not.toContain('written before a restart');

      // the network returns: delivered once, dave sees it
      await ctx.setOffline(false);
      await c.locator('[data-testid="message"]:not([data-pending])').filter({ hasText: 'written before a restart' }).waitFor({ timeout: 30_000 });
      await d.getByTestId('message').filter({ hasText: 'written before a restart' }).waitFor({ timeout: WAIT });
      expect((await rendered(d)).filter((m) => m.text === 'written before a restart')).toHaveLength(1);
    } finally {
      await ctx.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('keeps two offline tabs of one user in agreement', async () => {
    const erin = await makeUser(server);
    const frank = await makeUser(server);
    const roomId = await directRoom(erin, frank);
    const ctx = await newContext(erin);
    const tab1 = await ctx.newPage();
    await openControlled(tab1, `${server.url}/rooms/${roomId}`);
    const tab2 = await ctx.newPage();
    await tab2.goto(`${server.url}/rooms/${roomId}`);
    await send(tab1, 'from tab one, online');
    await tab2.getByTestId('message').filter({ hasText: 'from tab one, online' }).waitFor({ timeout: WAIT });

    await ctx.setOffline(true);
    await waitFor(async () => (await connection(tab1)) === 'offline' && (await connection(tab2)) === 'offline', { timeout: WAIT, message: 'both offline' });
    await send(tab1, 'tab one, offline');
    await send(tab2, 'tab two, offline');
    await tab2.getByTestId('message').filter({ hasText: 'tab one, offline' }).waitFor({ timeout: WAIT });
    await tab1.getByTestId('message').filter({ hasText: 'tab two, offline' }).waitFor({ timeout: WAIT });
    expect((await rendered(tab1)).map((m) => m.text)).toEqual((await rendered(tab2)).map((m) => m.text));

    await ctx.setOffline(false);
    const done = async (p: Page) => (await rendered(p)).length === 3 && (await rendered(p)).every((m) => !m.pending);
    await waitFor(async () => (await done(tab1)) && (await done(tab2)), { timeout: 30_000, message: 'tabs delivered' });
    expect(await rendered(tab1)).toEqual(await rendered(tab2));
    expect(serverTexts(server, roomId).sort()).toEqual(['from tab one, online', 'tab one, offline', 'tab two, offline']);
  }, 120_000);

  it('counts unread locally and notifies while hidden (asked from a click, never for muted rooms)', async () => {
    const mona = await makeUser(server);
    const nick = await makeUser(server);
    const roomId = await directRoom(mona, nick);
    const m = await (await newContext(mona)).newPage();
    await m.goto(`${server.url}/rooms/${roomId}`);
    await send(m, 'history, not news');

    const ctx = await newContext(nick);
    // a recording Notifications API, and a visibility the test controls
    await ctx.addInitScript(() => {
      const w = window as unknown as { __notes: unknown[]; __hidden: boolean; Notification: unknown };
      w.__notes = [];
      w.__hidden = false;
      class FakeNotification {
        static permission: NotificationPermission = 'default';
        static async requestPermission() {
          FakeNotification.permission = 'granted';
          return FakeNotification.permission;
        }
        onclick: (() => void) | null = null;
        constructor(title: string, opts?: NotificationOptions) {
          w.__notes.push({ title, body: opts?.body, tag: opts?.tag });
        }
        close() {}
      }
      w.Notification = FakeNotification;
      Object.defineProperty(document, 'visibilityState', { get: () => (w.__hidden ? 'hidden' : 'visible') });
    });
    const n = await ctx.newPage();
    const notes = () => n.evaluate(() => (window as unknown as { __notes: { title: string; body: string }[] }).__notes);
    const hide = (hidden: boolean) =>
      n.evaluate((h) => {
        (window as unknown as { __hidden: boolean }).__hidden = h;
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await n.goto(`${server.url}/`);
    const row = n.getByTestId('room-link').filter({ hasText: mona.username });
    await row.getByTestId('room-preview').filter({ hasText: 'history, not news' }).waitFor({ timeout: WAIT });
    await n.getByTestId('enable-notifications').click();
    await n.getByTestId('enable-notifications').waitFor({ state: 'detached', timeout: WAIT });

    await hide(true);
    await send(m, 'are you there?');
    await waitFor(async () => (await notes()).length === 1, { timeout: WAIT, message: 'notification' });
    expect((await notes())[0]).toMatchObject({ title: mona.username, body: 'are you there?' });
    await waitFor(async () => (await row.getByTestId('room-unread').innerText().catch(() => '')) === '2', { timeout: WAIT, message: 'unread 2' });

    // muted: counted, not announced
    expect((await nick.api('PUT', `/api/rooms/${roomId}/prefs`, { muted: true })).status).toBe(200);
    await n.waitForTimeout(300);
    await send(m, 'muted now');
    await waitFor(async () => (await row.getByTestId('room-unread').innerText().catch(() => '')) === '3', { timeout: WAIT, message: 'unread 3' });
    expect(await notes()).toHaveLength(1);

    // reading the room (visible) clears its count, on the device and on the server
    await hide(false);
    await row.click();
    await n.getByTestId('message').filter({ hasText: 'muted now' }).waitFor({ timeout: WAIT });
    await waitFor(async () => (await row.getByTestId('room-unread').count()) === 0, { timeout: WAIT, message: 'read' });
    await waitFor(async () => (await nick.api('GET', `/api/rooms/${roomId}`)).status === 200 && (await readSeqOnServer(server, roomId, nick.id)) === 3, { timeout: WAIT, message: 'server read position' });
  }, 120_000);

  it('starts from the device, then finds the session ended elsewhere: signs out and deletes the local data', async () => {
    const quinn = await makeUser(server);
    const rosa = await makeUser(server);
    const roomId = await directRoom(quinn, rosa);
    const ctx = await newContext(quinn);
    let p = await ctx.newPage();
    await openControlled(p, `${server.url}/rooms/${roomId}`);
    await send(p, 'soon revoked');
    await p.locator('[data-testid="message"]:not([data-pending])').filter({ hasText: 'soon revoked' }).waitFor({ timeout: WAIT });
    await p.close();

    // the session is revoked while no tab is open (e.g. a password change on another device)
    expect((await quinn.api('POST', '/api/logout')).status).toBe(204);
    p = await ctx.newPage();
    await p.goto(`${server.url}/rooms/${roomId}`);
    await p.waitForURL(/\/login$/, { timeout: WAIT });
    await waitFor(async () => (await userDatabases(p, quinn.id)).length === 0, { timeout: WAIT, message: 'local data deleted' });
    expect(await p.evaluate(() => localStorage.getItem('msgr:me'))).toBeNull();
  }, 60_000);

  it('logs out in one tab: the other tab follows, and no database, cache or key of the user is left', async () => {
    const gina = await makeUser(server);
    const hank = await makeUser(server);
    const roomId = await directRoom(gina, hank);
    const ctx = await newContext(gina);
    const tab1 = await ctx.newPage();
    await openControlled(tab1, `${server.url}/rooms/${roomId}`);
    const tab2 = await ctx.newPage();
    await tab2.goto(`${server.url}/`);
    await send(tab1, 'before logout');
    await tab2.getByTestId('room-preview').filter({ hasText: 'before logout' }).waitFor({ timeout: WAIT });
    expect((await userDatabases(tab1, gina.id)).length).toBeGreaterThanOrEqual(3);
    // a cache of user data (e.g. downloaded files) next to the worker's app shell
    await tab1.evaluate(async () => {
      const c = await caches.open('msgr-files');
      await c.put('/api/files/x', new Response('secret'));
    });

    await tab1.getByTestId('open-settings').click();
    await tab1.getByTestId('settings-logout').click();
    await tab1.waitForURL(/\/login$/, { timeout: WAIT });
    await tab2.waitForURL(/\/login$/, { timeout: WAIT });
    await waitFor(async () => (await userDatabases(tab1, gina.id)).length === 0, { timeout: WAIT, message: 'databases deleted' });
    const keys = await tab1.evaluate(() => Object.keys(localStorage));
    const cacheNames = await tab1.evaluate(() => caches.keys());
    expect(cacheNames.every((n) => n.startsWith('msgr-shell-'))).toBe(true);
    expect(keys.filter((k) => k.startsWith(`msgr:${gina.id}:`) || k === 'msgr:me')).toEqual([]);
    // the server session is over too
    const me = await tab1.evaluate(async () => (await fetch('/api/me')).status);
    expect(me).toBe(401);
    // a reload does not sign back in
    await tab2.reload();
    await tab2.waitForURL(/\/login$/, { timeout: WAIT });
    expect(await userDatabases(tab2, gina.id)).toEqual([]);
  }, 120_000);
});

describe.runIf(hasChromium)('local-first data: a refused message', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    // the server takes at most 40 characters; the test tells the page 10,000 (a stale config), so
    // that an honest-looking post is refused (message-too-long). `rate-limited` is no refusal of
    // content any more: the client paces itself and waits it out (tests/e2e/unsent.test.ts).
    const appHandler = await loadSvelteKitHandler(ROOT);
    if (!appHandler) throw new Error('build/handler.js is missing');
    server = await startServer({ maxMessageChars: 40 }, { appHandler, rateLimits: TEST_LIMITS });
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows why, keeps the refused message in its place for retry (also across a reload), and discards it', async () => {
    const ivy = await makeUser(server);
    const jack = await makeUser(server);
    const roomId = await directRoom(ivy, jack);
    // no service worker: the config request must reach the route below
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 }, locale: 'en-US', serviceWorkers: 'block' });
    const lie = async (route: import('playwright-core').Route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.messages.maxChars = 10_000;
      await route.fulfill({ response, json: body });
    };
    try {
      await signIn(ctx, server, ivy);
      await ctx.route('**/api/config', lie);
      const p = await ctx.newPage();
      await p.goto(`${server.url}/rooms/${roomId}`);
      await send(p, 'first');
      await p.locator('[data-testid="message"]:not([data-pending])').filter({ hasText: 'first' }).waitFor({ timeout: WAIT });
      const long = 'second, far longer than the forty characters the server takes';
      await write(p, long);
      // the refusal drops the segment's local copy: the post leaves the timeline for the failed list
      const failed = p.getByTestId('failed-message');
      await failed.filter({ hasText: long }).waitFor({ timeout: WAIT });
      // human words, never the raw code (which stays in data-code for tests and support)
      expect(await failed.first().getAttribute('data-code')).toBe('message-too-long');
      expect(await failed.first().getByTestId('failed-reason').innerText()).toBe('Not sent: The message is too long.');
      await p.locator('[data-testid="notice"][data-code="message-too-long"]').first().waitFor({ timeout: WAIT });
      await send(p, 'third');
      await p.locator('[data-testid="message"]:not([data-pending])').filter({ hasText: 'third' }).waitFor({ timeout: WAIT });
      expect((await rendered(p)).map((m) => m.text)).toEqual(['first', 'third']);
      expect(serverTexts(server, roomId).sort()).toEqual(['first', 'third']);
      // in its place: between the message before it and the one after it
      const order = () => p.$$eval('[data-testid="message"], [data-testid="failed-message"]', (els) => els.map((el) => (el.getAttribute('data-testid') === 'failed-message' ? 'failed' : el.querySelector('.text')?.textContent)));
      expect(await order()).toEqual(['first', 'failed', 'third']);
      await shoot(p, 'refused-message');

      // the refused copy is really gone: a reload does not bring it back, the failed item stays
      await p.reload();
      await p.getByTestId('message').filter({ hasText: 'third' }).waitFor({ timeout: WAIT });
      await failed.filter({ hasText: long }).waitFor({ timeout: WAIT });
      expect(await order()).toEqual(['first', 'failed', 'third']);

      // with the true limit known, a retry is refused before writing: the item stays for the user
      await ctx.unroute('**/api/config', lie);
      await p.reload();
      await failed.filter({ hasText: long }).waitFor({ timeout: WAIT });
      await failed.filter({ hasText: long }).getByRole('button', { name: 'Retry' }).click();
      await p.locator('[data-testid="notice"][data-code="message-too-long"]').first().waitFor({ timeout: WAIT });
      expect(await failed.count()).toBe(1);

      // a discarded one is gone for good
      await failed.filter({ hasText: long }).getByRole('button', { name: 'Delete' }).click();
      await waitFor(async () => (await failed.count()) === 0, { timeout: WAIT, message: 'discarded' });
      await p.reload();
      await p.getByTestId('message').filter({ hasText: 'third' }).waitFor({ timeout: WAIT });
      expect(await failed.count()).toBe(0);
      expect((await rendered(p)).map((m) => m.text)).toEqual(['first', 'third']);
      expect(serverTexts(server, roomId).sort()).toEqual(['first', 'third']);
    } finally {
      await ctx.close();
    }
  }, 120_000);
});

describe.runIf(hasChromium)('local-first data: history in segments', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    const appHandler = await loadSvelteKitHandler(ROOT);
    if (!appHandler) throw new Error('build/handler.js is missing');
    server = await startServer({ segmentMaxMessages: 25 }, { appHandler, rateLimits: { ...TEST_LIMITS, messages: { points: 100_000, durationSec: 10, key: 'user', description: 'test' } } });
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads older segments as the reader scrolls up, keeps the place, and keeps them for offline', async () => {
    const olga = await makeUser(server);
    const pete = await makeUser(server);
    const roomId = await directRoom(pete, olga);
    // 130 messages over six segments (25 per segment), written by pete's own provider client
    const socket = connectSocket(server.wsUrl);
    const docs = new Map<number, Awaited<ReturnType<typeof openDoc>>>();
    try {
      for (let i = 0; i < 130; i++) {
        const open = (await pete.api('GET', `/api/rooms/${roomId}`)).body.room.openSegment as number;
        if (!docs.has(open)) docs.set(open, await openDoc(socket, `room:${roomId}:${open}`, pete.token));
        const d = docs.get(open)!;
        post(d.doc, pete.id, `msg ${String(i).padStart(3, '0')}`);
        await acked(d.provider);
      }
    } finally {
      socket.destroy();
    }
    expect(docs.size).toBeGreaterThanOrEqual(5);

    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 }, locale: 'en-US' });
    try {
      await signIn(ctx, server, olga);
      const p = await ctx.newPage();
      await openControlled(p, `${server.url}/rooms/${roomId}`);
      await p.getByTestId('message').filter({ hasText: 'msg 129' }).waitFor({ timeout: WAIT });
      const texts = async () => (await rendered(p)).map((m) => m.text);
      // a first screenful, not all of history
      const first = await texts();
      expect(first.length).toBeLessThan(130);
      expect(first.at(-1)).toBe('msg 129');

      const scrollUp = async () => {
        const before = (await texts()).length;
        const top = await p.getByTestId('message').first().getAttribute('data-message-id');
        await p.getByTestId('messages').evaluate((el) => {
          el.scrollTop = 0;
          el.dispatchEvent(new Event('scroll'));
        });
        await waitFor(async () => (await texts()).length > before, { timeout: WAIT, message: 'older messages' });
        // what was at the top is still in view: the list grew above it, the reader did not jump
        const inView = () =>
          p.locator(`[data-message-id="${top}"]`).evaluate((el) => {
            const box = el.getBoundingClientRect();
            const pane = el.closest('[data-testid="messages"]')!.getBoundingClientRect();
            return box.bottom > pane.top && box.top < pane.bottom;
          });
        await expect.poll(inView, { timeout: WAIT }).toBe(true);
      };
      while (!(await texts()).includes('msg 000')) await scrollUp();
      const all = await texts();
      expect(all).toEqual(Array.from({ length: 130 }, (_, i) => `msg ${String(i).padStart(3, '0')}`));
      await expect.poll(() => p.getByTestId('load-older').count(), { timeout: WAIT }).toBe(0);

      // offline, after a reload: the older segments come from IndexedDB
      await ctx.setOffline(true);
      await p.reload();
      await p.getByTestId('message').filter({ hasText: 'msg 129' }).waitFor({ timeout: WAIT });
      while (!(await texts()).includes('msg 000')) await scrollUp();
      expect(await texts()).toEqual(all);
    } finally {
      await ctx.close();
    }
  }, 120_000);
});
