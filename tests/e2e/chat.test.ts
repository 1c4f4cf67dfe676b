/**
 * Browser smoke test: the production build of the web app served by the real server (port 0,
 * temp SQLite), driven with Debian's Chromium through playwright-core. Two people register in the
 * UI, start a 1:1 chat, talk in Korean, reply, edit and delete, each seeing the other's changes live.
 * One of them uses a phone-sized touch viewport. Nothing may be requested from another origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server.ts';
import { loadSvelteKitHandler } from '../../server/index.ts';
import { messageAction } from './timeline-page.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install it (bash scripts/install-chromium.sh)`);
  console.warn(`\n${'!'.repeat(80)}\n!! tests/e2e/chat.test.ts NOT RUN: ${CHROMIUM} is missing.\n!! Install it with: bash scripts/install-chromium.sh\n${'!'.repeat(80)}\n`);
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WAIT = 15_000;
const SHOTS = path.join(ROOT, 'test-results/e2e');

describe.runIf(hasChromium)('web app: two people chat in a 1:1 room', () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    // npm test builds first; this keeps `npx vitest run tests/e2e` honest too (a no-op when fresh)
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'inherit' });
    const appHandler = await loadSvelteKitHandler(ROOT);
    if (!appHandler) throw new Error('build/handler.js is missing after ensure-build');
    server = await startServer({}, { appHandler });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function openPage(options: Parameters<Browser['newContext']>[0]): Promise<Page> {
    const context = await browser.newContext({ locale: 'en-US', ...options });
    contexts.push(context);
    const page = await context.newPage();
    const ownWs = server.url.replace(/^http/, 'ws');
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(server.url + '/') && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
    });
    page.on('websocket', (ws) => {
      if (!ws.url().startsWith(ownWs + '/')) foreign.push(ws.url());
    });
    page.on('pageerror', (err) => console.error('[browser]', err));
    return page;
  }

  async function register(page: Page, username: string, displayName: string) {
    await page.goto(server.url + '/');
    await page.getByRole('button', { name: 'No account yet? Create one' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill('password123');
    await page.getByLabel('Display name').fill(displayName);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByTestId('me').filter({ hasText: displayName }).waitFor({ timeout: WAIT });
  }

  const messageById = (page: Page, id: string) => page.locator(`[data-testid="message"][data-message-id="${id}"]`);
  const messageWith = (page: Page, text: string) => page.getByTestId('message').filter({ hasText: text });
  const textOf = (msg: Locator) => msg.locator('.text, .tombstone').innerText();

  /** A message's actions: the hover toolbar on a desktop, the long-press sheet on a phone. */
  const act = (msg: Locator, action: 'Reply' | 'Edit' | 'Delete') => messageAction(msg, action);

  it('registers, starts a 1:1, sends, replies, edits and deletes across two browsers', async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    const alice = await openPage({ viewport: { width: 1280, height: 800 } });
    const bob = await openPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });

    await register(alice, `alice_${tag}`, 'Alice');
    await register(bob, `bob_${tag}`, 'Bob');

    // alice starts the 1:1 by searching for bob
    await alice.getByRole('link', { name: /New chat/ }).first().click();
    await alice.getByLabel('Search people').fill(`bob_${tag}`);
    await alice.getByRole('button', { name: 'Chat with Bob' }).click();
    await alice.getByTestId('room-title').filter({ hasText: 'Bob' }).waitFor({ timeout: WAIT });

    // Enter during an IME composition (Korean input) must not send
    const composer = alice.getByLabel('Message', { exact: true });
    await composer.fill('조합중');
    await composer.evaluate((el) => {
      el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', isComposing: true, bubbles: true, cancelable: true }));
      const legacy = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
      Object.defineProperty(legacy, 'keyCode', { value: 229 });
      el.dispatchEvent(legacy);
    });
    expect(await composer.inputValue()).toBe('조합중');
    expect(await alice.getByTestId('message').count()).toBe(0);

    // Enter sends; the message is pending until the server's receipt arrives
    await composer.fill('안녕하세요 밥');
    await composer.press('Enter');
    expect(await composer.inputValue()).toBe('');
    const first = messageWith(alice, '안녕하세요 밥');
    await first.waitFor({ timeout: WAIT });
    const id = (await first.getAttribute('data-message-id'))!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{8,40}$/);
    const aliceMsg = messageById(alice, id);
    await alice.locator(`[data-message-id="${id}"]:not([data-pending])`).waitFor({ timeout: WAIT });

    // bob finds the new room in his list (it is polled) and reads the message
    await bob.getByTestId('room-link').filter({ hasText: 'Alice' }).click({ timeout: WAIT });
    const bobSees = messageById(bob, id);
    await bobSees.waitFor({ timeout: WAIT });
    expect(await textOf(bobSees)).toBe('안녕하세요 밥');

    // bob replies with two lines (Shift+Enter is a newline)
    await act(bobSees, 'Reply');
    await bob.getByTestId('composer-context').filter({ hasText: 'Replying to Alice' }).waitFor({ timeout: WAIT });
    const bobComposer = bob.getByLabel('Message', { exact: true });
    await bobComposer.pressSequentially('Hi Alice!');
    await bobComposer.press('Shift+Enter');
    await bobComposer.pressSequentially('반가워요');
    expect(await bobComposer.inputValue()).toBe('Hi Alice!\n반가워요');
    await bobComposer.press('Enter');

    const reply = messageWith(alice, 'Hi Alice!');
    await reply.waitFor({ timeout: WAIT });
    expect(await textOf(reply)).toBe('Hi Alice!\n반가워요');
    expect(await reply.getByTestId('reply-quote').innerText()).toContain('안녕하세요 밥');
    await shoot(alice, 'desktop-chat');
    await shoot(bob, 'phone-chat');

    // alice edits her message; bob sees the new text marked edited
    await act(aliceMsg, 'Edit');
    await composer.fill('안녕하세요, 밥!');
    await composer.press('Enter');
    await expect.poll(() => textOf(bobSees), { timeout: WAIT }).toBe('안녕하세요, 밥!');
    await bobSees.getByText('(edited)').waitFor({ timeout: WAIT });

    // alice deletes it; bob sees the tombstone, and the reply's quote follows
    await act(aliceMsg, 'Delete');
    await bobSees.getByText('message deleted').waitFor({ timeout: WAIT });
    expect(await bobSees.innerText()).not.toContain('안녕하세요');
    await messageWith(alice, 'Hi Alice!').getByTestId('reply-quote').filter({ hasText: 'message deleted' }).waitFor({ timeout: WAIT });
    await shoot(bob, 'phone-deleted');

    // the phone layout shows one pane; back leads to the room list
    await bob.getByRole('link', { name: 'Back to chats' }).click();
    await bob.getByTestId('room-link').filter({ hasText: 'Alice' }).waitFor({ timeout: WAIT });
    await shoot(bob, 'phone-list');

    expect(foreign).toEqual([]);
  }, 120_000);
});

async function shoot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}
