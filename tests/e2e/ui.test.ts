/**
 * The product UI in Chromium against the production build: phone layout (room drawer, no sideways
 * scroll, finger-sized targets), Korean/English switch, light/dark theme, keyboard shortcuts and
 * accessible names, and Korean IME composition in the composer driven through CDP exactly as an IME
 * drives the browser. Nothing may be requested from another origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { makeRoom, makeUser, type TestServer, type TestUser } from '../helpers/server.ts';
import { en } from '../../src/lib/i18n/en.ts';
import { ko } from '../../src/lib/i18n/ko.ts';
import { pickLocale } from '../../src/lib/i18n/locale.svelte.ts';
import { launchBrowser, requireChromium, shoot, signIn, startAppServer, WAIT, watchForeign } from './browser-harness.ts';
import { messageAction } from './timeline-page.ts';

/** Every key path of a string table, with `()` marking functions. */
function shape(table: object, prefix = ''): string[] {
  return Object.entries(table).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? shape(v, `${prefix}${k}.`) : [`${prefix}${k}${typeof v === 'function' ? `(${v.length})` : ''}`],
  );
}

describe('string tables', () => {
  it('Korean has every string of English, and nothing else', () => {
    expect(shape(ko).sort()).toEqual(shape(en).sort());
    for (const key of shape(ko)) expect(key).not.toMatch(/\.$/);
  });

  it('picks Korean for ko* browsers and a stored choice over the browser', () => {
    expect(pickLocale(null, ['ko-KR', 'en-US'])).toBe('ko');
    expect(pickLocale(null, ['ko'])).toBe('ko');
    expect(pickLocale(null, ['de-DE', 'ko-KR'])).toBe('ko');
    expect(pickLocale(null, ['en-GB'])).toBe('en');
    expect(pickLocale(null, ['fr'])).toBe('en');
    expect(pickLocale('en', ['ko-KR'])).toBe('en');
    expect(pickLocale('ko', ['en-US'])).toBe('ko');
  });
});

const hasChromium = requireChromium('tests/e2e/ui.test.ts');

describe.runIf(hasChromium)('web app UI', () => {
  let server: TestServer;
  let browser: Browser;
  let me: TestUser;
  const roomIds: Record<string, string> = {};
  const contexts: BrowserContext[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    server = await startAppServer();
    browser = await launchBrowser();
    me = await makeUser(server);
    const peer = await makeUser(server);
    for (const name of ['Alpha', 'Beta', 'Gamma']) roomIds[name] = (await makeRoom(me, [peer], { name })).id;
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function open(options: Parameters<Browser['newContext']>[0], { signedIn = true } = {}): Promise<Page> {
    const context = await browser.newContext({ locale: 'en-US', ...options });
    contexts.push(context);
    watchForeign(context, server, foreign);
    if (signedIn) await signIn(context, server, me);
    return context.newPage();
  }

  const roomUrl = (name: string) => `${server.url}/rooms/${encodeURIComponent(roomIds[name])}`;
  const title = (page: Page) => page.getByTestId('room-title');
  const noSidewaysScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);

  async function expectTouchSized(page: Page, what: string, locator: ReturnType<Page['locator']>) {
    const box = await locator.boundingBox();
    expect(box, `${what} is on screen`).not.toBeNull();
    expect.soft(Math.round(box!.width), `${what} width`).toBeGreaterThanOrEqual(44);
    expect.soft(Math.round(box!.height), `${what} height`).toBeGreaterThanOrEqual(44);
  }

  it('phone (360×740): one column, room drawer, no sideways scroll, 44 px touch targets', async () => {
    const page = await open({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(server.url + '/');
    const links = page.getByTestId('room-link');
    await links.first().waitFor({ timeout: WAIT });
    expect(await links.count()).toBe(3);
    expect(await noSidewaysScroll(page)).toBe(true);
    await shoot(page, 'ui-phone-list-en-light');

    for (const [what, loc] of [
      ['settings', page.getByTestId('open-settings')],
      ['new chat', page.getByRole('link', { name: /New chat/ })],
      ['room filter', page.getByRole('searchbox', { name: 'Search chats' })],
      ['language switch', page.getByTestId('language-toggle')],
      ['theme switch', page.getByRole('button', { name: 'Dark theme' })],
      ['room link', links.first()],
    ] as const) await expectTouchSized(page, what, loc);

    // the chat takes the whole width; its header has one way back (no drawer button beside it)
    await links.filter({ hasText: 'Alpha' }).click();
    await title(page).filter({ hasText: 'Alpha' }).waitFor({ timeout: WAIT });
    await links.first().waitFor({ state: 'hidden', timeout: WAIT });
    expect(await noSidewaysScroll(page)).toBe(true);
    expect(await page.getByTestId('drawer-button').count()).toBe(0);
    const composer = page.getByLabel('Message', { exact: true });
    for (const [what, loc] of [
      ['back to chats', page.getByRole('link', { name: 'Back to chats' })],
      ['room menu', page.getByTestId('room-menu')],
      ['composer menu', page.getByTestId('composer-plus')],
      ['emoji', page.getByTestId('composer-emoji')],
      ['composer', composer],
      ['send', page.getByRole('button', { name: 'Send' })],
    ] as const) await expectTouchSized(page, what, loc);
    await shoot(page, 'ui-phone-room-en-light');
    await page.getByRole('link', { name: 'Back to chats' }).click();
    await links.filter({ hasText: 'Beta' }).waitFor({ state: 'visible', timeout: WAIT });

    // the room drawer stays where a screen has no list beside it (search): open, pick, closed
    await page.goto(server.url + '/search');
    const drawerButton = page.getByRole('button', { name: 'Show chats' });
    await drawerButton.waitFor({ timeout: WAIT });
    await expectTouchSized(page, 'drawer button', drawerButton);
    await drawerButton.click();
    expect(await drawerButton.getAttribute('aria-expanded')).toBe('true');
    await links.filter({ hasText: 'Beta' }).waitFor({ state: 'visible', timeout: WAIT });
    expect(await page.locator('main').getAttribute('inert')).not.toBeNull();
    await page.waitForTimeout(300); // the slide-in, for the picture only
    await shoot(page, 'ui-phone-drawer-en-light');
    await links.filter({ hasText: 'Beta' }).click();
    await title(page).filter({ hasText: 'Beta' }).waitFor({ timeout: WAIT });
    await links.first().waitFor({ state: 'hidden', timeout: WAIT });
    expect(page.url()).toBe(roomUrl('Beta'));

    // Esc closes it and gives focus back to the button; so does a tap beside it
    await page.goto(server.url + '/search');
    await drawerButton.click();
    await links.first().waitFor({ state: 'visible', timeout: WAIT });
    await page.keyboard.press('Escape');
    await links.first().waitFor({ state: 'hidden', timeout: WAIT });
    expect(await drawerButton.evaluate((el) => el === document.activeElement)).toBe(true);
    await drawerButton.click();
    await links.first().waitFor({ state: 'visible', timeout: WAIT });
    await page.mouse.click(352, 400);
    await links.first().waitFor({ state: 'hidden', timeout: WAIT });
    expect(page.url()).toContain('/search');

    // the login page fits too
    const anon = await open({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true }, { signedIn: false });
    await anon.goto(server.url + '/login');
    await anon.getByRole('button', { name: 'Log in' }).waitFor({ timeout: WAIT });
    expect(await noSidewaysScroll(anon)).toBe(true);
    await expectTouchSized(anon, 'log in', anon.getByRole('button', { name: 'Log in' }));
    expect(foreign).toEqual([]);
  }, 90_000);

  it('switches between Korean and English at runtime and keeps the choice across reloads', async () => {
    const page = await open({ viewport: { width: 1280, height: 800 } }, { signedIn: false });
    await page.goto(server.url + '/login');
    const heading = page.getByRole('heading', { level: 1 });
    await heading.filter({ hasText: 'Log in' }).waitFor({ timeout: WAIT });
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');

    await page.getByRole('button', { name: '한국어' }).click();
    await heading.filter({ hasText: '로그인' }).waitFor({ timeout: WAIT });
    expect(await page.getByLabel('아이디').count()).toBe(1);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ko');
    await shoot(page, 'ui-desktop-login-ko-light');

    await page.reload();
    await heading.filter({ hasText: '로그인' }).waitFor({ timeout: WAIT });
    await page.getByRole('button', { name: 'English' }).click();
    await heading.filter({ hasText: 'Log in' }).waitFor({ timeout: WAIT });
    await page.reload();
    await heading.filter({ hasText: 'Log in' }).waitFor({ timeout: WAIT });

    // a Korean browser starts in Korean; the signed-in app switches without a reload
    const korean = await open({ viewport: { width: 1280, height: 800 }, locale: 'ko-KR' });
    await korean.goto(roomUrl('Alpha'));
    await korean.getByRole('link', { name: /새 채팅/ }).waitFor({ timeout: WAIT });
    expect(await korean.getByLabel('메시지', { exact: true }).count()).toBe(1);
    await korean.getByRole('button', { name: 'English' }).click();
    await korean.getByRole('link', { name: /New chat/ }).waitFor({ timeout: WAIT });
    expect(await korean.getByLabel('Message', { exact: true }).count()).toBe(1);
    expect(foreign).toEqual([]);
  }, 60_000);

  it('follows the system theme and keeps a dark choice across reloads', async () => {
    const background = (page: Page) => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const page = await open({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    await page.goto(roomUrl('Alpha'));
    const toggle = page.getByRole('button', { name: 'Dark theme' });
    await toggle.waitFor({ timeout: WAIT });
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    const light = await background(page);

    await toggle.click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await background(page)).not.toBe(light);
    expect(await background(page)).toBe('rgb(21, 24, 30)');
    await page.reload();
    await toggle.waitFor({ timeout: WAIT });
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await shoot(page, 'ui-desktop-room-en-dark');

    const system = await open({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, colorScheme: 'dark', locale: 'ko-KR' });
    await system.goto(roomUrl('Gamma'));
    await title(system).filter({ hasText: 'Gamma' }).waitFor({ timeout: WAIT });
    expect(await system.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await shoot(system, 'ui-phone-room-ko-dark');
    await system.goto(server.url + '/');
    await system.getByTestId('room-link').first().waitFor({ timeout: WAIT });
    await shoot(system, 'ui-phone-list-ko-dark');
    expect(foreign).toEqual([]);
  }, 60_000);

  it('keyboard: Ctrl+K filters rooms, Alt+↑/↓ switches rooms, ? shows the shortcuts, Esc cancels a reply', async () => {
    const page = await open({ viewport: { width: 1280, height: 800 } });
    await page.goto(roomUrl('Alpha'));
    await title(page).filter({ hasText: 'Alpha' }).waitFor({ timeout: WAIT });
    const links = page.getByTestId('room-link');
    const order = await links.evaluateAll((els) => els.map((el) => (el as HTMLAnchorElement).href));
    const at = order.indexOf(roomUrl('Alpha'));
    expect(at).toBeGreaterThanOrEqual(0);

    await page.getByLabel('Message', { exact: true }).focus();
    await page.keyboard.press('Alt+ArrowDown');
    await page.waitForURL(order[(at + 1) % order.length], { timeout: WAIT });
    await page.keyboard.press('Alt+ArrowUp');
    await page.waitForURL(order[at], { timeout: WAIT });

    await page.keyboard.press('Control+k');
    const filter = page.getByRole('searchbox', { name: 'Search chats' });
    expect(await filter.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.type('bet');
    await expect.poll(() => links.allInnerTexts()).toEqual([expect.stringContaining('Beta')]);
    await page.keyboard.press('Escape');
    await expect.poll(() => links.count()).toBe(3);

    await page.locator('body').click({ position: { x: 900, y: 400 } });
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor({ timeout: WAIT });
    expect(await help.innerText()).toContain('Next chat');
    await shoot(page, 'ui-desktop-shortcuts-en-light');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden', timeout: WAIT });

    // Esc leaves reply mode
    const composer = page.getByLabel('Message', { exact: true });
    await composer.fill('reply target');
    await composer.press('Enter');
    const msg = page.getByTestId('message').filter({ hasText: 'reply target' });
    await messageAction(msg, 'Reply');
    const context = page.getByTestId('composer-context');
    await context.waitFor({ timeout: WAIT });
    await page.keyboard.press('Escape');
    await context.waitFor({ state: 'hidden', timeout: WAIT });
    expect(foreign).toEqual([]);
  }, 60_000);

  it('has landmarks and a name on every button and link (Chromium accessibility tree)', async () => {
    const page = await open({ viewport: { width: 1280, height: 800 } });
    await page.goto(roomUrl('Beta'));
    await title(page).filter({ hasText: 'Beta' }).waitFor({ timeout: WAIT });
    expect(await page.getByRole('main').count()).toBe(1);
    expect(await page.getByRole('navigation', { name: 'Chats' }).count()).toBe(1);
    expect(await page.getByRole('complementary').count()).toBeGreaterThanOrEqual(1);
    const cdp = await page.context().newCDPSession(page);
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[] };
    const nameless = nodes.filter((n) => !n.ignored && ['button', 'link', 'textbox', 'searchbox'].includes(String(n.role?.value)) && !String(n.name?.value ?? '').trim());
    expect(nameless.map((n) => n.role?.value)).toEqual([]);
    await cdp.detach();
  });

  describe('Korean IME composition in the composer', () => {
    let page: Page;
    let cdp: CDPSession;

    const sentTexts = () => page.getByTestId('message').locator('.text').allInnerTexts();
    const composer = () => page.getByLabel('Message', { exact: true });
    const enter = async (text?: string) => {
      await cdp.send('Input.dispatchKeyEvent', { type: text ? 'keyDown' : 'rawKeyDown', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, nativeVirtualKeyCode: 13, ...(text ? { text } : {}) });
      await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, nativeVirtualKeyCode: 13 });
    };

    beforeAll(async () => {
      page = await open({ viewport: { width: 1280, height: 800 } });
      cdp = await page.context().newCDPSession(page);
    });

    async function freshRoom(name: string) {
      const peer = await makeUser(server);
      const room = await makeRoom(me, [peer], { name });
      await page.goto(`${server.url}/rooms/${encodeURIComponent(room.id)}`);
      await title(page).filter({ hasText: name }).waitFor({ timeout: WAIT });
      // a new group: no messages yet
      await composer().waitFor({ timeout: WAIT });
      expect(await page.getByTestId('message').count()).toBe(0);
      await composer().focus();
    }

    it('Enter while composing neither sends nor duplicates; the committed text is sent exactly once', async () => {
      await freshRoom('IME Enter');
      await cdp.send('Input.insertText', { text: '안녕하' });
      await cdp.send('Input.imeSetComposition', { text: '세', selectionStart: 1, selectionEnd: 1 });
      expect(await composer().inputValue()).toBe('안녕하세');

      // Enter that confirms the syllable: the IME's, not a send
      await enter();
      await page.waitForTimeout(300);
      expect(await sentTexts()).toEqual([]);
      expect(await composer().inputValue()).toBe('안녕하세');

      // the IME commits "세요" in place of the composed "세", then a real Enter sends
      await cdp.send('Input.insertText', { text: '세요' });
      expect(await composer().inputValue()).toBe('안녕하세요');
      await enter('\r');
      await page.getByTestId('message').filter({ hasText: '안녕하세요' }).waitFor({ timeout: WAIT });
      await page.locator('[data-testid="message"]:not([data-pending])').first().waitFor({ timeout: WAIT });
      await page.waitForTimeout(300);
      expect(await sentTexts()).toEqual(['안녕하세요']);
      expect(await composer().inputValue()).toBe('');
    });

    it('a send asked for mid-composition waits for the commit and sends the whole text once', async () => {
      await freshRoom('IME Send');
      await cdp.send('Input.insertText', { text: '반갑습니' });
      await cdp.send('Input.imeSetComposition', { text: '다', selectionStart: 1, selectionEnd: 1 });
      // the form is submitted while "다" is still being composed (a send button that keeps focus)
      await composer().evaluate((el) => (el as HTMLTextAreaElement).form!.requestSubmit());
      await page.waitForTimeout(300);
      expect(await sentTexts()).toEqual([]);

      await cdp.send('Input.insertText', { text: '다' });
      await page.getByTestId('message').filter({ hasText: '반갑습니다' }).waitFor({ timeout: WAIT });
      await page.waitForTimeout(300);
      expect(await sentTexts()).toEqual(['반갑습니다']);
      expect(await composer().inputValue()).toBe('');
      await shoot(page, 'ui-desktop-ime-en-light');
      expect(foreign).toEqual([]);
    });
  });
});
