/**
 * Profile photos in the app (Chromium, production build): user A uploads a photo in settings and
 * user B, already looking at the room, sees it without reloading, in the member list, the timeline,
 * the room list and the 1:1 header; A removes it and B is back to initials, never a broken image.
 * Screenshots of the room with photos at 1280×800 and 360×740 in Korean and English (and dark), under
 * test-results/e2e/. Then offline: the service worker's copy shows the photo after an offline reload.
 */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { Locator, Page } from 'playwright-core';
import { makeNamedUser, makeRoom, waitFor, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, receiptsOf } from '../helpers/collab.ts';
import { browserSuite, requireChromium, shoot, WAIT } from './browser-harness.ts';
import { themeAndLocaleScript, type Locale, type ThemeName } from './screens.ts';

const hasChromium = requireChromium('tests/e2e/avatars.test.ts');
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

/** A picture that reads as a photo in a screenshot: a sky, a sun and a hill. */
const photo = (sky: string, hill: string) =>
  sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600"><rect width="600" height="600" fill="${sky}"/><circle cx="410" cy="190" r="90" fill="#ffd54a"/><ellipse cx="250" cy="620" rx="420" ry="260" fill="${hill}"/></svg>`)).png().toBuffer();
/** Sets `user`'s profile photo from the API (as the settings screen does). */
async function uploadPhoto(base: string, user: TestUser, sky: string, hill: string): Promise<number> {
  const res = await fetch(`${base}/api/me/avatar`, { method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'content-type': 'image/png' }, body: new Uint8Array(await photo(sky, hill)) });
  return res.status;
}

/** The photo of `scope`'s avatar has loaded and is drawn (not the initials, not a broken image). */
const photoShown = (scope: Locator) =>
  scope.getByTestId('avatar-img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0 && getComputedStyle(img).opacity === '1').catch(() => false);
const noPhoto = async (scope: Locator) => (await scope.getByTestId('avatar-img').count()) === 0;

describe.runIf(hasChromium)('profile photos', () => {
  const suite = browserSuite();
  const url = (path: string) => `${suite.server.url}${path}`;

  it('a new photo reaches another member live (members, timeline, room list, 1:1 header) and its removal too', async () => {
    const alice = await makeNamedUser(suite.server, '김사진');
    const bob = await makeNamedUser(suite.server, 'Bob Viewer');
    const carol = await makeNamedUser(suite.server, 'Carol Choi');
    const room = await makeRoom(alice, [bob, carol], { name: '사진 방' });
    const direct = (await bob.api('POST', '/api/rooms', { memberIds: [alice.id] })).body.room as { id: string };
    // carol has a photo from the start; alice and carol say something
    expect(await uploadPhoto(suite.server.url, carol, '#7cc4f5', '#3f9e4f')).toBe(200);
    const sockets = [connectSocket(suite.server.wsUrl), connectSocket(suite.server.wsUrl)];
    const segA = await openDoc(sockets[0], `room:${room.id}:0`, alice.token);
    const ids = [post(segA.doc, alice.id, '사진 바꿔 볼게요'), post(segA.doc, alice.id, '잘 보여요?')];
    await waitFor(() => ids.every((id) => receiptsOf(segA.doc).has(id)), { message: "alice's receipts" });
    const segC = await openDoc(sockets[1], `room:${room.id}:0`, carol.token);
    ids.push(post(segC.doc, carol.id, 'Looks good 👍'));
    await waitFor(() => ids.every((id) => receiptsOf(segA.doc).has(id)), { message: 'the receipts' });
    sockets.forEach((s) => s.destroy());

    // bob is in the room with the member list open before anything changes
    const bobCtx = await suite.newContext(bob, DESKTOP);
    const page = await bobCtx.newPage();
    await page.goto(url(`/rooms/${room.id}`));
    await page.getByTestId('message').filter({ hasText: '잘 보여요?' }).waitFor({ timeout: WAIT });
    await page.getByTestId('room-members-button').click();
    const aliceRow = page.locator(`[data-testid="member"][data-user-id="${alice.id}"]`);
    const carolRow = page.locator(`[data-testid="member"][data-user-id="${carol.id}"]`);
    const aliceMsg = page.getByTestId('message').filter({ hasText: '사진 바꿔 볼게요' });
    const directLink = page.locator(`[data-testid="room-link"][href$="${direct.id}"]`);
    await aliceRow.waitFor({ timeout: WAIT });
    await waitFor(() => photoShown(carolRow), { timeout: WAIT, message: "carol's photo in the member list" });
    // alice has none yet: her initials, and no image element at all
    expect(await noPhoto(aliceRow)).toBe(true);
    expect(await noPhoto(aliceMsg)).toBe(true);
    expect(await aliceMsg.getByTestId('avatar').innerText()).toBe('김');

    const navigations: string[] = [];
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));

    // alice uploads a photo from her settings
    const aliceCtx = await suite.newContext(alice, DESKTOP);
    const settings = await aliceCtx.newPage();
    await settings.goto(url('/settings'));
    await settings.getByTestId('photo-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await photo('#f7b2c4', '#b0487a') });
    await settings.getByTestId('photo-remove').waitFor({ timeout: WAIT });

    // bob sees it without reloading: member list, timeline, the 1:1 room in the list
    await waitFor(() => photoShown(aliceRow), { timeout: WAIT, message: "alice's photo in bob's member list" });
    await waitFor(() => photoShown(aliceMsg), { timeout: WAIT, message: "alice's photo in bob's timeline" });
    await waitFor(() => photoShown(directLink), { timeout: WAIT, message: "alice's photo on the 1:1 room in bob's list" });
    expect(navigations).toEqual([]);
    const img = aliceRow.getByTestId('avatar-img');
    expect(await img.getAttribute('alt')).toBe('');
    expect(await img.getAttribute('loading')).toBe('lazy');
    expect(await img.getAttribute('decoding')).toBe('async');
    expect(await img.getAttribute('src')).toMatch(new RegExp(`^/api/users/${alice.id}/avatar\\?v=[0-9]+$`));
    // drawn at the avatar's size, round as before
    const sizes = await aliceRow.getByTestId('avatar').evaluate((el) => {
      const i = el.querySelector('img')!;
      return { outer: el.getBoundingClientRect().width, inner: i.getBoundingClientRect().width, radius: getComputedStyle(i).borderRadius };
    });
    expect(sizes.inner).toBeCloseTo(sizes.outer, 0);
    expect(sizes.radius).toBe('50%');
    // alice's own settings and sidebar show it
    await waitFor(() => photoShown(settings.getByTestId('profile-photo')), { timeout: WAIT, message: 'the photo in settings' });
    await shoot(settings, 'avatars-settings-desktop-en-light');

    // the 1:1 room's header shows the other person's photo
    await directLink.click();
    await page.getByTestId('room-title').filter({ hasText: '김사진' }).waitFor({ timeout: WAIT });
    await waitFor(() => photoShown(page.locator('header').filter({ has: page.getByTestId('room-title') })), { timeout: WAIT, message: "alice's photo in the 1:1 header" });
    await shoot(page, 'avatars-direct-desktop-en-light');
    await page.goto(url(`/rooms/${room.id}`));
    await page.getByTestId('message').filter({ hasText: '잘 보여요?' }).waitFor({ timeout: WAIT });
    await page.getByTestId('room-members-button').click();
    await waitFor(() => photoShown(aliceRow), { timeout: WAIT, message: "alice's photo after coming back" });
    const loadedAt = navigations.length;

    // screenshots of the room with photos: both sizes, both languages, and dark
    const all: [Locale, ThemeName, typeof DESKTOP | typeof PHONE, string][] = [
      ['ko', 'light', DESKTOP, 'desktop'],
      ['en', 'light', DESKTOP, 'desktop'],
      ['ko', 'light', PHONE, 'phone'],
      ['en', 'light', PHONE, 'phone'],
      ['ko', 'dark', DESKTOP, 'desktop'],
      ['ko', 'dark', PHONE, 'phone'],
    ];
    // CI: two that still cover both sizes, languages and themes (the suite's time budget); locally all
    const shots = process.env.CI ? [all[1], all[5]] : all;
    for (const [locale, theme, size, label] of shots) {
      const ctx = await suite.newContext(bob, { ...size, locale: locale === 'ko' ? 'ko-KR' : 'en-US' });
      await ctx.addInitScript(themeAndLocaleScript(theme, locale));
      const p = await ctx.newPage();
      await p.goto(url(`/rooms/${room.id}`));
      const msg = p.getByTestId('message').filter({ hasText: '사진 바꿔 볼게요' });
      await msg.waitFor({ timeout: WAIT });
      await waitFor(() => photoShown(msg), { timeout: WAIT, message: `the timeline photo (${locale} ${label})` });
      await shoot(p, `avatars-room-${label}-${locale}-${theme}`);
      if (label === 'desktop') {
        await p.getByTestId('room-members-button').click();
        const row = p.locator(`[data-testid="member"][data-user-id="${alice.id}"]`);
        await waitFor(() => photoShown(row), { timeout: WAIT, message: 'the member photo' });
        await shoot(p, `avatars-members-${label}-${locale}-${theme}`);
      } else {
        await p.goto(url('/'));
        const link = p.locator(`[data-testid="room-link"][href$="${direct.id}"]`);
        await waitFor(() => photoShown(link), { timeout: WAIT, message: 'the room list photo' });
        await shoot(p, `avatars-list-${label}-${locale}-${theme}`);
      }
      await ctx.close();
    }

    // alice removes it: bob is back to her initials everywhere, live
    await settings.getByTestId('photo-remove').click();
    await settings.getByTestId('photo-remove').waitFor({ state: 'detached', timeout: WAIT });
    await waitFor(async () => (await noPhoto(aliceRow)) && (await noPhoto(aliceMsg)) && (await noPhoto(directLink)), { timeout: WAIT, message: "alice's photo gone from bob's screens" });
    expect(await aliceMsg.getByTestId('avatar').innerText()).toBe('김');
    expect(await photoShown(carolRow)).toBe(true);
    expect(navigations.length).toBe(loadedAt);
    await aliceCtx.close();
    await bobCtx.close();
  }, 180_000);

  it('a photo that cannot load shows the initials, never a broken image', async () => {
    const dora = await makeNamedUser(suite.server, 'Dora Broken');
    const erik = await makeNamedUser(suite.server, 'Erik Looker');
    const room = await makeRoom(dora, [erik], { name: 'Broken photos' });
    expect(await uploadPhoto(suite.server.url, dora, '#ccc', '#333')).toBe(200);
    const ctx = await suite.newContext(erik, { ...DESKTOP, serviceWorkers: 'block' });
    // every photo request fails: the server is up, the image is not
    await ctx.route('**/api/users/*/avatar*', (route) => route.fulfill({ status: 500, body: 'nope' }));
    const page = await ctx.newPage();
    await page.goto(url(`/rooms/${room.id}`));
    await page.getByTestId('room-members-button').click();
    const row = page.locator(`[data-testid="member"][data-user-id="${dora.id}"]`);
    await row.waitFor({ timeout: WAIT });
    // the <img> was tried and given up: it leaves, the initials stay
    await waitFor(() => noPhoto(row), { timeout: WAIT, message: 'the failed image removed' });
    expect(await row.getByTestId('avatar').innerText()).toBe('DB');
    await ctx.close();
  }, 60_000);

  it('offline, a photo seen before comes from the service worker', async () => {
    const fay = await makeNamedUser(suite.server, 'Fay Offline');
    const gus = await makeNamedUser(suite.server, 'Gus Offline');
    const room = await makeRoom(fay, [gus], { name: 'Offline photos' });
    expect(await uploadPhoto(suite.server.url, fay, '#9ad', '#264')).toBe(200);
    const ctx = await suite.newContext(gus, DESKTOP);
    const page: Page = await ctx.newPage();
    await page.goto(url(`/rooms/${room.id}`));
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: WAIT });
    // seen once while the worker controls the page: kept in its cache
    await page.reload();
    await page.getByTestId('room-members-button').click();
    const row = page.locator(`[data-testid="member"][data-user-id="${fay.id}"]`);
    await waitFor(() => photoShown(row), { timeout: WAIT, message: 'the photo online' });
    await waitFor(() => page.evaluate(async () => (await (await caches.open('msgr-avatars')).keys()).length > 0), { timeout: WAIT, message: 'the photo kept by the worker' });
    await ctx.setOffline(true);
    await page.reload();
    await page.getByTestId('room-members-button').click();
    await waitFor(() => photoShown(row), { timeout: WAIT, message: 'the photo offline' });
    await ctx.setOffline(false);
    await ctx.close();
  }, 90_000);
});
