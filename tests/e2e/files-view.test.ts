/**
 * Files in the chat, the display side (issue 8): Debian's Chromium against the production build and
 * the real server. Alice uploads images and a PDF through `POST /api/upload` and posts them through
 * her real provider; Bob sees the thumbnails in boxes of the right aspect ratio before and after they
 * load, walks the room's images in the viewer (buttons, arrow keys, swipe, Back), downloads, reads
 * the PDF card, lists and filters the room's files; Alice deletes files from the panel and Bob's
 * timeline loses them. Thumbnails already seen still show offline. Screenshots in both languages,
 * both themes, desktop and phone, into test-results/e2e/.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeRoom, makeUser, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { acked, connectSocket, openDoc, post, receiptsOf, type OpenDoc } from '../helpers/collab.ts';
import { attachmentOf, jpeg, pdf, png, uploadTo } from '../helpers/uploads.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';
import { formatSize } from '../../src/lib/files/format.ts';
import { messageAction, openControlled } from './timeline-page.ts';
import { browserSuite, requireChromium, shoot, WAIT } from './browser-harness.ts';

const hasChromium = requireChromium('tests/e2e/files-view.test.ts');
const poll = { timeout: WAIT, interval: 50 };

const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PDF_NAME = '2024년 3분기 실적 보고서_최종본(수정).pdf';

interface Uploaded {
  file: { id: string; name: string; size: number; width?: number; height?: number };
  token: string;
}

async function uploaded(server: TestServer, user: TestUser, roomId: string, name: string, data: Buffer): Promise<Uploaded> {
  const r = await uploadTo(server, user, roomId, name, data);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as Uploaded;
}

/** Posts one message with the uploads through the author's provider and waits for its receipt. */
async function postFiles(seg: OpenDoc, author: TestUser, text: string, files: Uploaded[]): Promise<string> {
  const id = post(seg.doc, author.id, text, { attachments: files.map(attachmentOf) } as Partial<Message>);
  await acked(seg.provider);
  await waitFor(() => receiptsOf(seg.doc).get(id), { timeout: WAIT, message: 'receipt' });
  return id;
}

const message = (page: Page, id: string) => page.locator(`[data-testid="message"][data-message-id="${id}"]`);

/** Every thumbnail in the timeline has loaded (decoded, faded in). */
const thumbsLoaded = (page: Page) =>
  page.$$eval('[data-testid="messages"] img.thumb-img', (imgs) => imgs.length > 0 && imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0 && getComputedStyle(i).opacity === '1'));

const box = async (page: Page, selector: string) => {
  const b = await page.locator(selector).first().boundingBox();
  if (!b) throw new Error(`${selector} has no box`);
  return b;
};

const viewerName = (page: Page) => page.locator('[data-testid="viewer-name"] .file-name').getAttribute('title', { timeout: 1000 }).catch(() => null);
const viewerOpen = (page: Page) => page.getByTestId('image-viewer').isVisible();
const fileRows = (page: Page) => page.$$eval('[data-testid="room-file"]', (rows) => rows.map((r) => r.querySelector('.file-name')?.getAttribute('title') ?? ''));

describe.runIf(hasChromium)('files in the chat: attachments, image viewer, files panel', () => {
  const suite = browserSuite();
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let seg: OpenDoc;
  const ids: Record<string, string> = {};
  const msgs: Record<string, string> = {};
  let pdfSize = 0;

  beforeAll(async () => {
    ({ server } = suite);
    [alice, bob] = await Promise.all([makeUser(server, 'alice_files'), makeUser(server, 'bob_files')]);
    expect((await alice.api('PATCH', '/api/me', { displayName: '김민지' })).status).toBe(200);
    roomId = (await makeRoom(alice, [bob], { name: '디자인 팀' })).id;
    seg = await openDoc(connectSocket(server.wsUrl), `room:${roomId}:0`, alice.token);
    const wide = await uploaded(server, alice, roomId, '제주 바다.png', await png(800, 400, '#3366cc'));
    const three = [
      await uploaded(server, alice, roomId, 'one.png', await png(600, 600, '#cc3366')),
      await uploaded(server, alice, roomId, 'two.jpg', await jpeg(400, 600)),
      await uploaded(server, alice, roomId, 'three.png', await png(900, 600, '#33aa66')),
    ];
    const data = pdf('quarterly');
    pdfSize = data.length;
    const report = await uploaded(server, alice, roomId, PDF_NAME, data);
    for (const u of [wide, ...three, report]) ids[u.file.name] = u.file.id;
    msgs.wide = await postFiles(seg, alice, '지난 주말 사진이에요 🌊', [wide]);
    msgs.three = await postFiles(seg, alice, '', three);
    msgs.pdf = await postFiles(seg, alice, '', [report]);
  });

  it('shows a thumbnail in a box of the image’s aspect ratio before and after it loads', async () => {
    const ctx = await suite.newContext(bob, { ...DESKTOP, serviceWorkers: 'block' });
    // hold the thumbnails back: the box must already be right while they are on the way
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await ctx.route('**/api/files/*/thumb', async (route) => {
      await gate;
      await route.continue();
    });
    const page = await ctx.newPage();
    await page.goto(`${server.url}/rooms/${roomId}`);
    const single = `[data-message-id="${msgs.wide}"] [data-testid="image-attachment"]`;
    await page.locator(single).waitFor({ timeout: WAIT });
    const before = await box(page, single);
    expect(await page.locator(`${single} img`).evaluate((i) => (i as HTMLImageElement).complete)).toBe(false);
    expect(before.width / before.height).toBeCloseTo(2, 1);
    expect(before.width).toBeLessThanOrEqual(320);
    expect(await page.locator(`${single} img`).getAttribute('alt')).toBe('제주 바다.png');

    release();
    await expect.poll(() => thumbsLoaded(page), poll).toBe(true);
    const after = await box(page, single);
    expect(after).toEqual(before);
    // three images: one row of three square cells
    const cells = await page.locator(`[data-message-id="${msgs.three}"] [data-testid="image-attachment"]`).evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => ({ w: Math.round(r.width), h: Math.round(r.height), top: Math.round(r.top) })));
    expect(cells).toHaveLength(3);
    expect(new Set(cells.map((c) => c.top)).size).toBe(1);
    for (const c of cells) expect(Math.abs(c.w - c.h)).toBeLessThanOrEqual(1);
    // a file-only message shows just its files: no text paragraph, no empty bubble padding
    expect(await message(page, msgs.three).locator('.text').count()).toBe(0);
  }, 60_000);

  it('walks the room’s images in the viewer: buttons, arrow keys, download, Esc and Back', async () => {
    const page = await (await suite.newContext(bob, DESKTOP)).newPage();
    await page.goto(`${server.url}/rooms/${roomId}`);
    await expect.poll(() => thumbsLoaded(page), poll).toBe(true);
    await message(page, msgs.three).getByRole('link', { name: 'View one.png' }).click();
    await expect.poll(() => viewerName(page), poll).toBe('one.png');
    // the room's list is in: four images, this is the second (oldest first, as the timeline reads)
    await expect.poll(() => page.getByTestId('viewer-position').textContent().catch(() => null), poll).toBe('2 / 4');
    expect(await page.getByTestId('viewer-sender').textContent()).toContain('김민지');
    expect(await page.getByTestId('viewer-download').getAttribute('href')).toBe(`/api/files/${ids['one.png']}?download=1`);
    expect(await page.getByTestId('viewer-image').getAttribute('src')).toBe(`/api/files/${ids['one.png']}`);
    await expect.poll(() => page.getByTestId('viewer-image').evaluate((i) => (i as HTMLImageElement).naturalWidth), poll).toBe(600);

    await page.getByRole('button', { name: 'Next image' }).click();
    await expect.poll(() => viewerName(page), poll).toBe('two.jpg');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => viewerName(page), poll).toBe('three.png');
    expect(await page.getByRole('button', { name: 'Next image' }).isDisabled()).toBe(true);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => viewerName(page), poll).toBe('제주 바다.png');
    expect(await page.getByRole('button', { name: 'Previous image' }).isDisabled()).toBe(true);
    expect(await page.getByTestId('viewer-download').getAttribute('href')).toBe(`/api/files/${ids['제주 바다.png']}?download=1`);
    // the download link really downloads, under the Korean name
    const res = await fetch(`${server.url}/api/files/${ids['제주 바다.png']}?download=1`, { headers: { authorization: `Bearer ${bob.token}` } });
    expect(res.headers.get('content-disposition')).toMatch(/^attachment;.*filename\*=UTF-8''%EC%A0%9C%EC%A3%BC/);
    await shoot(page, 'files-viewer-desktop-en-light');

    await page.keyboard.press('Escape');
    await expect.poll(() => viewerOpen(page), poll).toBe(false);
    // Back closes the viewer and stays in the room
    await message(page, msgs.wide).getByRole('link', { name: 'View 제주 바다.png' }).click();
    await expect.poll(() => viewerOpen(page), poll).toBe(true);
    await page.goBack();
    await expect.poll(() => viewerOpen(page), poll).toBe(false);
    expect(new URL(page.url()).pathname).toBe(`/rooms/${roomId}`);
    // the close button, and focus is back in the page
    await message(page, msgs.wide).getByRole('link', { name: 'View 제주 바다.png' }).click();
    await page.getByTestId('image-viewer').getByRole('button', { name: 'Close', exact: true }).click();
    await expect.poll(() => viewerOpen(page), poll).toBe(false);
    await page.goBack();
    expect(new URL(page.url()).pathname).not.toBe(`/rooms/${roomId}`); // no viewer entry left behind
  }, 60_000);

  it('shows the PDF as a card: Korean name, size, type, download', async () => {
    const page = await (await suite.newContext(bob, DESKTOP)).newPage();
    await page.goto(`${server.url}/rooms/${roomId}`);
    const card = message(page, msgs.pdf).getByTestId('file-card');
    await card.waitFor({ timeout: WAIT });
    expect(await card.locator('.file-name').getAttribute('title')).toBe(PDF_NAME);
    expect((await card.locator('.file-name').textContent())?.replace(/\s/g, '')).toBe(PDF_NAME.replace(/\s/g, ''));
    expect(await card.getByTestId('file-meta').textContent()).toBe(`PDF · ${formatSize(pdfSize, 'en-US')}`);
    expect(await card.getAttribute('href')).toBe(`/api/files/${ids[PDF_NAME]}?download=1`);
    expect(await card.getAttribute('download')).toBe(PDF_NAME);
  }, 60_000);

  it('lists the room’s files newest first, filters them, and opens an image from the list', async () => {
    const page = await (await suite.newContext(bob, DESKTOP)).newPage();
    await page.goto(`${server.url}/rooms/${roomId}`);
    await page.getByTestId('room-files-button').click();
    await expect.poll(() => fileRows(page), poll).toHaveLength(5);
    const all = await fileRows(page);
    expect(all[0]).toBe(PDF_NAME);
    expect(all[4]).toBe('제주 바다.png');
    expect(new Set(all.slice(1, 4))).toEqual(new Set(['one.png', 'two.jpg', 'three.png']));
    expect(await page.getByTestId('file-delete').count()).toBe(0); // bob is neither uploader nor admin
    expect(await page.getByTestId('room-files').textContent()).toContain('김민지');

    await page.getByRole('button', { name: 'Images', exact: true }).click();
    await expect.poll(() => fileRows(page), poll).toEqual(all.slice(1));
    await page.getByRole('button', { name: 'Documents', exact: true }).click();
    await expect.poll(() => fileRows(page), poll).toEqual([PDF_NAME]);
    await page.getByRole('button', { name: 'All', exact: true }).click();
    await expect.poll(() => fileRows(page), poll).toEqual(all);

    await page.getByTestId('room-file').filter({ hasText: 'three.png' }).getByRole('button', { name: /^three\.png/ }).click();
    await expect.poll(() => viewerName(page), poll).toBe('three.png');
    await expect.poll(() => page.getByTestId('viewer-position').textContent().catch(() => null), poll).toBe('4 / 4');
    await page.keyboard.press('Escape');
    await expect.poll(() => viewerOpen(page), poll).toBe(false);
    expect(await page.getByTestId('room-files').isVisible()).toBe(true);
  }, 60_000);

  it('looks right: desktop and phone, Korean and English, light and dark', async () => {
    const looks: { name: string; options: Parameters<typeof suite.newContext>[1] }[] = [
      { name: 'desktop-en-light', options: { ...DESKTOP, locale: 'en-US', colorScheme: 'light' } },
      { name: 'desktop-ko-dark', options: { ...DESKTOP, locale: 'ko-KR', colorScheme: 'dark' } },
      { name: 'phone-ko-light', options: { ...PHONE, locale: 'ko-KR', colorScheme: 'light' } },
      { name: 'phone-en-dark', options: { ...PHONE, locale: 'en-US', colorScheme: 'dark' } },
    ];
    // CI: two looks that still cover both sizes, languages and themes (npm run screenshots renders all)
    const ciLooks = [looks[1], { name: 'phone-en-light', options: { ...PHONE, locale: 'en-US', colorScheme: 'light' as const } }];
    for (const look of process.env.CI ? ciLooks : looks) {
      const ctx = await suite.newContext(bob, look.options);
      const page = await ctx.newPage();
      await page.goto(`${server.url}/rooms/${roomId}`);
      await expect.poll(() => thumbsLoaded(page), poll).toBe(true);
      await message(page, msgs.pdf).getByTestId('file-card').waitFor({ timeout: WAIT });
      await shoot(page, `files-timeline-${look.name}`);

      await message(page, msgs.three).getByTestId('image-attachment').nth(1).click();
      await expect.poll(() => page.getByTestId('viewer-image').evaluate((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).catch(() => false), poll).toBe(true);
      await expect.poll(() => page.getByTestId('viewer-position').isVisible(), poll).toBe(true);
      if (look.options?.hasTouch) {
        // a swipe to the left shows the next image
        await page.getByTestId('viewer-stage').evaluate((stage) => {
          const at = (type: string, x: number) => stage.dispatchEvent(new PointerEvent(type, { pointerType: 'touch', isPrimary: true, clientX: x, clientY: 300, bubbles: true }));
          at('pointerdown', 300);
          at('pointerup', 80);
        });
        await expect.poll(() => viewerName(page), poll).toBe('three.png');
        await page.getByTestId('viewer-prev').click();
        await expect.poll(() => viewerName(page), poll).toBe('two.jpg');
      }
      await shoot(page, `files-viewer-${look.name}`);
      await page.keyboard.press('Escape');
      await expect.poll(() => viewerOpen(page), poll).toBe(false);

      // a wide screen has the header button; a phone has it in the room menu
      if (await page.getByTestId('room-files-button').isVisible()) await page.getByTestId('room-files-button').click();
      else {
        await page.getByTestId('room-menu').click();
        await page.getByTestId('menu-files').click();
      }
      await expect.poll(async () => (await fileRows(page)).length, poll).toBe(5);
      await expect.poll(() => page.$$eval('[data-testid="room-files"] img.thumb-img', (imgs) => imgs.every((i) => getComputedStyle(i).opacity === '1')), poll).toBe(true);
      await shoot(page, `files-panel-${look.name}`);
      await ctx.close();
    }
  }, 90_000);

  it('shows thumbnails already seen while offline', async () => {
    const ctx = await suite.newContext(bob, DESKTOP);
    const page = await ctx.newPage();
    await openControlled(page, `${server.url}/rooms/${roomId}`);
    // the first visit installs the worker; this one is controlled, so its thumbnails are kept
    await page.reload();
    await expect.poll(() => thumbsLoaded(page), poll).toBe(true);
    await ctx.setOffline(true);
    try {
      await page.reload();
      await expect.poll(() => thumbsLoaded(page), poll).toBe(true);
      expect(await page.locator('[data-testid="messages"] img.thumb-img').count()).toBe(4);
    } finally {
      await ctx.setOffline(false);
    }
  }, 60_000);

  it('deletes a file from the panel (uploader): gone from the list and from everyone’s timeline', async () => {
    const bobPage = await (await suite.newContext(bob, DESKTOP)).newPage();
    await bobPage.goto(`${server.url}/rooms/${roomId}`);
    await expect.poll(() => thumbsLoaded(bobPage), poll).toBe(true);
    await bobPage.getByTestId('room-files-button').click();
    await expect.poll(async () => (await fileRows(bobPage)).length, poll).toBe(5);

    const a = await (await suite.newContext(alice, DESKTOP)).newPage();
    await a.goto(`${server.url}/rooms/${roomId}`);
    await a.getByTestId('room-files-button').click();
    await expect.poll(async () => (await fileRows(a)).length, poll).toBe(5);
    await a.getByRole('button', { name: 'Delete two.jpg' }).click();
    const dialog = a.locator('[data-testid="confirm-dialog"][open]');
    await expect.poll(() => dialog.textContent(), poll).toContain('two.jpg');
    await shoot(a, 'files-delete-confirm-desktop-en-light');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => fileRows(a), poll).not.toContain('two.jpg');

    // bob's timeline loses it through the document; his open panel too
    const cellsOf = (page: Page) => message(page, msgs.three).getByTestId('image-attachment').count();
    await expect.poll(() => cellsOf(bobPage), poll).toBe(2);
    await expect.poll(() => fileRows(bobPage), poll).not.toContain('two.jpg');

    // the last file of a file-only message: the message becomes a tombstone
    await a.getByRole('button', { name: `Delete ${PDF_NAME}` }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => message(bobPage, msgs.pdf).locator('.tombstone').count(), poll).toBe(1);
    await expect.poll(() => message(bobPage, msgs.pdf).getByTestId('file-card').count(), poll).toBe(0);
    expect((await fetch(`${server.url}/api/files/${ids[PDF_NAME]}`, { headers: { authorization: `Bearer ${bob.token}` } })).status).toBe(404);
    expect(await fileRows(bobPage)).toHaveLength(3);

    // deleting a message deletes its files with it: a tombstone carries none
    const wide = message(a, msgs.wide);
    await messageAction(wide, 'Delete');
    await expect.poll(() => message(bobPage, msgs.wide).locator('.tombstone').count(), poll).toBe(1);
    await expect.poll(async () => (await fileRows(bobPage)).sort(), poll).toEqual(['one.png', 'three.png']);
    const listed = await bob.api('GET', `/api/rooms/${roomId}/files`);
    expect(listed.body.files.map((f: { name: string }) => f.name).sort()).toEqual(['one.png', 'three.png']);
    expect(await a.getByTestId('notice').count()).toBe(0);
  }, 60_000);
});
