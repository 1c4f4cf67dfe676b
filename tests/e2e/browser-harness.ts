/**
 * Shared setup of the browser tests (pwa, ui): the production build served by the real server on
 * port 0, Debian's Chromium through playwright-core, signed-in contexts, a watch on requests that
 * leave our origin, and screenshots into test-results/e2e/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type LaunchOptions, type Page } from 'playwright-core';
import { startServer, type TestServer, type TestUser } from '../helpers/server.ts';
import { loadSvelteKitHandler, type AppOptions } from '../../server/index.ts';
import type { Config } from '../../server/config.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WAIT = 15_000;
const SHOTS = path.join(ROOT, 'test-results/e2e');

export const LAUNCH: LaunchOptions = {
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
};

/** True when Chromium is here; in CI its absence fails the run, elsewhere it is said loudly. */
export function requireChromium(testFile: string): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install it (bash scripts/install-chromium.sh)`);
  console.warn(`\n${'!'.repeat(80)}\n!! ${testFile} NOT RUN: ${CHROMIUM} is missing.\n!! Install it with: bash scripts/install-chromium.sh\n${'!'.repeat(80)}\n`);
  return false;
}

/**
 * Builds when the build is stale (a no-op when fresh) and starts the server with the web app;
 * `config` and `options` go to the server (e.g. a small segment size, retention and a test clock).
 */
export async function startAppServer(config: Partial<Config> = {}, options: AppOptions = {}): Promise<TestServer> {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  const appHandler = await loadSvelteKitHandler(ROOT);
  if (!appHandler) throw new Error('build/handler.js is missing after ensure-build');
  return startServer(config, { ...options, appHandler });
}

export const launchBrowser = (): Promise<Browser> => chromium.launch(LAUNCH);

export type ContextOptions = Parameters<Browser['newContext']>[0];

/**
 * One app server and one browser for a `describe` block, with signed-in contexts that are closed
 * afterwards and a watch on requests leaving our origin (asserted empty at the end). Call it at the
 * top of the block; `server` and `browser` are set once its `beforeAll` has run.
 */
export function browserSuite(server: { config?: Partial<Config>; options?: AppOptions } = {}) {
  const contexts: BrowserContext[] = [];
  const foreign: string[] = [];
  const suite = {
    server: undefined as unknown as TestServer,
    browser: undefined as unknown as Browser,
    foreign,
    /** A desktop-sized English context, signed in as `user` (options override the defaults). */
    async newContext(user: TestUser, options: ContextOptions = {}): Promise<BrowserContext> {
      const context = await suite.browser.newContext({ viewport: { width: 1100, height: 800 }, locale: 'en-US', ...options });
      contexts.push(context);
      watchForeign(context, suite.server, foreign);
      await signIn(context, suite.server, user);
      return context;
    },
  };
  beforeAll(async () => {
    suite.server = await startAppServer(server.config, server.options);
    suite.browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await suite.browser?.close();
    await suite.server?.close();
    expect(foreign).toEqual([]);
  });
  return suite;
}

/**
 * A non-incognito profile in a temp dir: Chromium reports `in-incognito` as an installability
 * error for ordinary (incognito-like) test contexts. Returns the context and a cleanup.
 */
export async function launchProfile(options: Parameters<typeof chromium.launchPersistentContext>[1] = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-profile-'));
  const context = await chromium.launchPersistentContext(dir, { ...LAUNCH, ...options });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Records every request and WebSocket of the context that leaves our origin (service-worker
 * requests included). The closed network allows none.
 */
export function watchForeign(context: BrowserContext, server: TestServer, foreign: string[]): void {
  const own = server.url + '/';
  const ownWs = server.url.replace(/^http/, 'ws') + '/';
  const allowed = (url: string) => url.startsWith(own) || url.startsWith('data:') || url.startsWith('blob:');
  context.on('request', (req) => {
    if (!allowed(req.url())) foreign.push(req.url());
  });
  const watchPage = (page: Page) => {
    page.on('websocket', (ws) => {
      if (!ws.url().startsWith(ownWs)) foreign.push(ws.url());
    });
    page.on('pageerror', (err) => console.error('[browser]', err));
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
}

/** Signs the context in as `user` with the session cookie the server set at registration. */
export async function signIn(context: BrowserContext, server: TestServer, user: TestUser): Promise<void> {
  await context.addCookies([{ name: 'session', value: encodeURIComponent(user.token), url: server.url, httpOnly: true, sameSite: 'Lax' }]);
}

export async function shoot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Width and height of a PNG from its IHDR chunk. */
export function pngSize(buf: Buffer): { width: number; height: number } | null {
  const signature = '89504e470d0a1a0a';
  if (buf.subarray(0, 8).toString('hex') !== signature || buf.subarray(12, 16).toString('ascii') !== 'IHDR') return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}
