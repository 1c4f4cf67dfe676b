/**
 * Sending files, the client side (issue 8): Debian's Chromium against the production build and the
 * real server. Every entry path (attach button, drag and drop, paste) sends `room_id` first and the
 * other member receives the file; a file added offline survives a reload and goes out exactly once
 * when the network returns; the limits are the server's, changed at runtime; cancel aborts the upload
 * and sends nothing. Also the screenshots of the composer and a pending upload (ko/en, desktop/phone).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { makeUser, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc } from '../helpers/collab.ts';
import sharp from 'sharp';
import { png } from '../helpers/uploads.ts';
import type { Message, Receipt } from '../../src/lib/protocol/schema.ts';
import { browserSuite, requireChromium, shoot, WAIT, type ContextOptions } from './browser-harness.ts';
import { connection, openControlled, send } from './timeline-page.ts';

const hasChromium = requireChromium('tests/e2e/uploads.test.ts');

interface SeenUpload {
  /** The multipart body's parts in order, as the page handed them to XMLHttpRequest: [name, value or filename]. */
  parts: [string, string][];
  status: number;
  /** The room the server filed the upload under (its `files` row). */
  storedRoom: string | null;
}

/**
 * Every `POST /api/upload` of the page: the body's parts in order (recorded in the page, since
 * Chromium does not report blob-backed request bodies over CDP), the answer, and the room the server
 * stored the file for. `requests` counts the requests that left the page at all.
 */
async function watchUploads(server: TestServer, page: Page): Promise<{ seen: SeenUpload[]; requests: () => number }> {
  await page.addInitScript(() => {
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (body) {
      if (body instanceof FormData) {
        const w = window as unknown as { uploadParts?: [string, string][][] };
        (w.uploadParts ??= []).push([...body.entries()].map(([k, v]) => [k, typeof v === 'string' ? v : v.name]));
      }
      return send.call(this, body);
    };
  });
  const seen: SeenUpload[] = [];
  let requests = 0;
  const isUpload = (method: string, url: string) => method === 'POST' && new URL(url).pathname === '/api/upload';
  page.on('request', (req) => void (isUpload(req.method(), req.url()) && requests++));
  page.on('response', async (res) => {
    if (!isUpload(res.request().method(), res.url())) return;
    const body = (await res.json().catch(() => null)) as { file?: { id: string; name: string } } | null;
    const row = body?.file ? (server.app.services.db.prepare('SELECT room_id FROM files WHERE id = ?').get(body.file.id) as { room_id: string } | undefined) : undefined;
    const parts = await page.evaluate((name) => {
      const list = (window as unknown as { uploadParts?: [string, string][][] }).uploadParts ?? [];
      // a refusal names no file: it answers the oldest upload still unanswered
      const i = name === null ? 0 : list.findIndex((p) => p.some(([k, v]) => k === 'file' && v === name));
      return i < 0 || !list[i] ? [] : list.splice(i, 1)[0];
    }, body?.file?.name ?? null);
    seen.push({ parts, status: res.status(), storedRoom: row?.room_id ?? null });
  });
  return { seen, requests: () => requests };
}

/** What an upload from the room looks like: `room_id` first, then the file, filed under the room. */
const uploadOf = (roomId: string, name: string): SeenUpload => ({ parts: [['room_id', roomId], ['file', name]], status: 201, storedRoom: roomId });

/** Accepted messages with files in the room's open segment, as another member receives them. */
async function filesSeenBy(server: TestServer, reader: TestUser, roomId: string): Promise<string[][]> {
  const socket = connectSocket(server.wsUrl);
  try {
    const { doc } = await openDoc(socket, `room:${roomId}:0`, reader.token);
    const receipts = doc.getMap<Receipt>('receipts');
    return [...doc.getMap<Message>('messages').values()]
      .filter((m) => receipts.has(m.id) && m.attachments?.length)
      .sort((a, b) => receipts.get(a.id)!.seq - receipts.get(b.id)!.seq)
      .map((m) => m.attachments!.map((a) => a.name));
  } finally {
    socket.destroy();
  }
}

async function directRoom(a: TestUser, b: TestUser): Promise<string> {
  const res = await a.api('POST', '/api/rooms', { memberIds: [b.id] });
  expect(res.status).toBe(201);
  return res.body.room.id as string;
}

interface PageFile {
  name: string;
  type: string;
  data: Buffer;
}
const textFile = (name: string, bytes = 64): PageFile => ({ name, type: 'text/plain', data: Buffer.from(`${name} `.repeat(Math.ceil(bytes / (name.length + 1))).slice(0, bytes)) });

/** The composer's "+" menu → "Attach files", through the browser's own file chooser. */
async function attach(page: Page, file: PageFile): Promise<void> {
  await page.getByTestId('composer-plus').click();
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('attach').click()]);
  await chooser.setFiles({ name: file.name, mimeType: file.type, buffer: file.data });
}

/** A real DataTransfer with a File, dragged over the timeline (the overlay shows) and dropped. */
async function dropFile(page: Page, file: PageFile, shot?: string): Promise<void> {
  await page.evaluate(({ name, type, b64 }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
    (window as unknown as { dt: DataTransfer }).dt = dt;
    const target = document.querySelector('[data-testid="messages"]')!;
    for (const t of ['dragenter', 'dragover']) target.dispatchEvent(new DragEvent(t, { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, { name: file.name, type: file.type, b64: file.data.toString('base64') });
  await page.getByTestId('drop-overlay').waitFor({ timeout: WAIT });
  if (shot) await shoot(page, shot);
  await page.evaluate(() => {
    const dt = (window as unknown as { dt: DataTransfer }).dt;
    document.querySelector('[data-testid="messages"]')!.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  });
  await page.getByTestId('drop-overlay').waitFor({ state: 'detached', timeout: WAIT });
}

/** A paste into the composer of a clipboard that holds a file (a screenshot, a copied image). */
async function pasteFile(page: Page, file: PageFile): Promise<void> {
  await page.evaluate(({ name, type, b64 }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
    const box = document.getElementById('composer-text')!;
    box.focus();
    box.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
  }, { name: file.name, type: file.type, b64: file.data.toString('base64') });
}

const pending = (page: Page, name: string) => page.getByTestId('pending-upload').filter({ hasText: name });
/** A message showing the file: its name as text (a file card) or in an image's label. */
const messageWith = (page: Page, name: string) => {
  const messages = page.getByTestId('message');
  return messages.filter({ hasText: name }).or(messages.filter({ has: page.locator(`[aria-label*="${name}"]`) })).first();
};
const messagesWith = (page: Page, name: string) => page.getByTestId('message').filter({ hasText: name }).or(page.getByTestId('message').filter({ has: page.locator(`[aria-label*="${name}"]`) }));

/** Slows this page's uploads (Chromium's own network emulation), so that progress can be seen. */
async function throttleUploads(context: BrowserContext, page: Page, bytesPerSecond: number): Promise<() => Promise<void>> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
  return async () => {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();
  };
}

describe.runIf(hasChromium)('sending files: entry paths, offline queue, server limits, cancel', () => {
  const suite = browserSuite();
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let bobPage: Page;
  beforeAll(async () => {
    ({ server } = suite);
    alice = await makeUser(server);
    bob = await makeUser(server);
    roomId = await directRoom(alice, bob);
    bobPage = await (await suite.newContext(bob)).newPage();
    await bobPage.goto(`${server.url}/rooms/${roomId}`);
  });
  const roomUrl = () => `${server.url}/rooms/${roomId}`;
  const online = (page: Page) => waitFor(async () => (await connection(page)) === 'online', { timeout: WAIT, message: 'online' });

  it('sends room_id first from the attach button, a drop and a paste, and the other member gets each file', async () => {
    const a = await (await suite.newContext(alice)).newPage();
    const { seen } = await watchUploads(server, a);
    await a.goto(roomUrl());
    await online(a);

    // the picker offers what the server allows, as it publishes it
    expect(await a.getByTestId('file-input').getAttribute('accept')).toBe(server.app.services.files.publicConfig().accept);
    const files = [textFile('회의록 최종.txt'), textFile('dropped.csv'), { name: 'pasted.png', type: 'image/png', data: await png(120, 60) }];
    await attach(a, files[0]);
    await messageWith(bobPage, files[0].name).waitFor({ timeout: WAIT });
    await dropFile(a, files[1], 'uploads-drop-overlay');
    await messageWith(bobPage, files[1].name).waitFor({ timeout: WAIT });
    await pasteFile(a, files[2]);
    await messageWith(bobPage, files[2].name).waitFor({ timeout: WAIT });

    await waitFor(() => seen.length === 3, { timeout: WAIT, message: 'three uploads answered' });
    expect(seen).toEqual(files.map((f) => uploadOf(roomId, f.name)));
    await waitFor(async () => (await filesSeenBy(server, bob, roomId)).length === 3, { timeout: WAIT, message: 'three file messages stored' });
    expect(await filesSeenBy(server, bob, roomId)).toEqual(files.map((f) => [f.name]));
    await waitFor(async () => (await a.getByTestId('pending-upload').count()) === 0, { timeout: WAIT, message: 'no item left' });
  }, 60_000);

  it('keeps a file added offline across a reload and sends it exactly once when the network returns', async () => {
    const ctx = await suite.newContext(alice);
    const a = await ctx.newPage();
    await openControlled(a, roomUrl());
    await online(a);
    const before = (await filesSeenBy(server, bob, roomId)).length;

    await ctx.setOffline(true);
    await waitFor(async () => (await connection(a)) === 'offline', { timeout: WAIT, message: 'offline' });
    const file = textFile('offline-report.txt', 2000);
    await attach(a, file);
    await pending(a, file.name).getByText('Waiting for network').waitFor({ timeout: WAIT });
    await a.reload();
    await pending(a, file.name).getByText('Waiting for network').waitFor({ timeout: WAIT });
    await shoot(a, 'uploads-offline-waiting');

    await ctx.setOffline(false);
    await messageWith(bobPage, file.name).waitFor({ timeout: WAIT });
    await pending(a, file.name).waitFor({ state: 'detached', timeout: WAIT });
    await waitFor(async () => (await filesSeenBy(server, bob, roomId)).length === before + 1, { timeout: WAIT, message: 'stored' });
    // a message after it: had the file gone out twice, the copy would be there before this one
    await send(a, 'after the offline file');
    await messageWith(bobPage, 'after the offline file').waitFor({ timeout: WAIT });
    expect((await filesSeenBy(server, bob, roomId)).filter((names) => names.includes(file.name))).toHaveLength(1);
    expect(await messagesWith(bobPage, file.name).count()).toBe(1);
  }, 60_000);

  it('follows the server limits changed at runtime: the server refuses first, then the page says the new limit without uploading', async () => {
    const files = server.app.services.files;
    const original = files.limits().maxBytes;
    const a = await (await suite.newContext(alice)).newPage();
    const { seen, requests } = await watchUploads(server, a);
    await a.goto(roomUrl());
    await online(a);
    const file = textFile('five-kilobytes.txt', 5 * 1024);
    const item = pending(a, file.name);
    const tooLarge = async () => {
      await item.getByText('Too large to send. The limit is 2 KB.').waitFor({ timeout: WAIT });
      expect(await item.getAttribute('data-state')).toBe('failed');
    };
    const dismiss = async () => {
      await item.getByRole('button', { name: 'Dismiss' }).click();
      await item.waitFor({ state: 'detached', timeout: WAIT });
    };
    try {
      files.setLimits({ maxBytes: 2000 });
      // the server is the judge: this page still holds the old limits, uploads, and is refused
      await attach(a, file);
      await tooLarge();
      expect(requests()).toBe(1);
      await dismiss();
      // after a reload (the config is fetched at every start) the page knows: nothing is uploaded
      await a.reload();
      await online(a);
      await attach(a, file);
      await tooLarge();
      await shoot(a, 'uploads-too-large');
      await dismiss();
    } finally {
      files.setLimits({ maxBytes: original });
    }
    expect(requests()).toBe(1);

    await a.reload();
    await online(a);
    await attach(a, file);
    await messageWith(bobPage, file.name).waitFor({ timeout: WAIT });
    await waitFor(() => seen.length === 2, { timeout: WAIT, message: 'upload answered' });
    expect(seen).toEqual([{ parts: [['room_id', roomId], ['file', file.name]], status: 413, storedRoom: null }, uploadOf(roomId, file.name)]);
  }, 60_000);

  it('asks for a fresh token when the one it held expired before the message reached the server', async () => {
    const files = server.app.services.files;
    const original = files.limits().tokenTtlMs;
    const ctx = await suite.newContext(alice);
    const a = await ctx.newPage();
    const file = textFile('late-token.txt', 300);
    const jobAsks: string[] = [];
    a.on('request', (req) => void (new URL(req.url()).pathname.startsWith('/api/upload/jobs/') && jobAsks.push(req.url())));
    let handedOut = 0;
    try {
      files.setLimits({ tokenTtlMs: 1000 });
      await a.goto(roomUrl());
      await online(a);
      // the upload's answer (with its token) arrives, and the network goes: the message waits
      await a.route('**/api/upload', async (route) => {
        const response = await route.fetch();
        await ctx.setOffline(true);
        handedOut = Date.now();
        await route.fulfill({ response });
      });
      await attach(a, file);
      await messageWith(a, file.name).waitFor({ timeout: WAIT });
      await pending(a, file.name).waitFor({ state: 'detached', timeout: WAIT });
      // the one thing this test waits for by time: the server's clock passing the token's expiry
      await waitFor(() => handedOut > 0 && Date.now() > handedOut + 1500, { timeout: WAIT, message: 'token expired' });
      await a.unroute('**/api/upload');
      await ctx.setOffline(false);
      await messageWith(bobPage, file.name).waitFor({ timeout: WAIT });
    } finally {
      files.setLimits({ tokenTtlMs: original });
    }
    await send(a, 'after the late token');
    await messageWith(bobPage, 'after the late token').waitFor({ timeout: WAIT });
    expect((await filesSeenBy(server, bob, roomId)).filter((names) => names.includes(file.name))).toHaveLength(1);
    expect(jobAsks.length).toBeGreaterThanOrEqual(1); // the refused message's file went out again with a fresh token
    expect(await a.getByTestId('pending-upload').count()).toBe(0);
    expect(await a.getByTestId('failed-message').count()).toBe(0);
    expect(await a.getByTestId('notice').count()).toBe(0);
  }, 60_000);

  it('cancels an upload in progress: the request is aborted, the item goes, no message is sent', async () => {
    const ctx = await suite.newContext(alice);
    const a = await ctx.newPage();
    await a.goto(roomUrl());
    await online(a);
    const unthrottle = await throttleUploads(ctx, a, 64 * 1024);
    const file = textFile('cancelled-upload.txt', 2 * 1024 * 1024);
    await attach(a, file);
    const item = pending(a, file.name);
    await item.getByText(/Uploading [1-9]\d?%/).waitFor({ timeout: WAIT });
    const percent = Number(await item.getByRole('progressbar').getAttribute('aria-valuenow'));
    expect(percent).toBeGreaterThan(0);
    expect(percent).toBeLessThan(100);
    await item.getByRole('button', { name: `Cancel sending ${file.name}` }).click();
    await item.waitFor({ state: 'detached', timeout: WAIT });
    await unthrottle();

    await send(a, 'after the cancel');
    await messageWith(bobPage, 'after the cancel').waitFor({ timeout: WAIT });
    expect((await filesSeenBy(server, bob, roomId)).flat()).not.toContain(file.name);
    expect(await messagesWith(bobPage, file.name).count()).toBe(0);
    await a.reload();
    await online(a);
    expect(await a.getByTestId('pending-upload').count()).toBe(0);
  }, 60_000);

  it('looks right: the composer and a pending upload with progress, Korean and English, desktop and phone', async () => {
    // noise does not compress: the photo stays in progress next to the document
    const noise = await sharp({ create: { width: 640, height: 420, channels: 3, background: '#4a7bd0', noise: { type: 'gaussian', mean: 120, sigma: 40 } } }).png().toBuffer();
    const photo = { name: 'site-photo.png', type: 'image/png', data: noise };
    const doc = textFile('quarterly-report-2025-final-version.txt', 3 * 1024 * 1024);
    const layouts: [string, ContextOptions][] = [
      ['desktop', { viewport: { width: 1280, height: 800 } }],
      ['phone', { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true }],
    ];
    // a user of its own: alice has used much of the server's upload rate (10 a minute) by now
    const carol = await makeUser(server);
    const carolRoom = await directRoom(carol, bob);
    for (const [layout, options] of layouts) {
      // CI: one language per layout (both are covered); `npm run screenshots` and local runs render all four
      for (const locale of process.env.CI ? [layout === 'desktop' ? 'ko-KR' : 'en-US'] : ['ko-KR', 'en-US']) {
        const ctx = await suite.newContext(carol, { ...options, locale });
        const a = await ctx.newPage();
        await a.goto(`${server.url}/rooms/${carolRoom}`);
        await online(a);
        const unthrottle = await throttleUploads(ctx, a, 48 * 1024);
        await attach(a, photo);
        await attach(a, doc);
        await a.locator('[data-testid="pending-upload"][data-state="uploading"]').first().waitFor({ timeout: WAIT });
        await waitFor(async () => Number(await a.getByRole('progressbar').first().getAttribute('aria-valuenow')) > 0, { timeout: WAIT, message: 'progress' });
        if (layout === 'phone') {
          // the "+" menu has a camera item on touch screens; it and its items are finger-sized (44 px)
          const plus = await a.getByTestId('composer-plus').boundingBox();
          expect(plus && Math.min(plus.width, plus.height)).toBeGreaterThanOrEqual(44);
          await a.getByTestId('composer-plus').click();
          for (const id of ['attach', 'camera']) {
            const box = await a.getByTestId(id).boundingBox();
            expect(box && box.height).toBeGreaterThanOrEqual(44);
          }
          await a.keyboard.press('Escape');
          expect(await a.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
        }
        await shoot(a, `uploads-${layout}-${locale.slice(0, 2)}`);
        while ((await a.getByTestId('pending-upload').count()) > 0) await a.getByTestId('pending-upload').first().getByRole('button').first().click();
        await unthrottle();
        await ctx.close();
      }
    }
  }, 90_000);
});
