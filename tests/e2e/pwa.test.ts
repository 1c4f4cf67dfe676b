/**
 * The installable app shell: Chromium finds no installability error, the manifest and its icons are
 * served as declared, the service worker controls the page, and after one online visit the app
 * loads with the network off (any route, from the one cached shell). Nothing leaves our origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { makeUser, type TestServer } from '../helpers/server.ts';
import { launchProfile, pngSize, requireChromium, shoot, signIn, startAppServer, WAIT, watchForeign } from './browser-harness.ts';

const hasChromium = requireChromium('tests/e2e/pwa.test.ts');

interface ManifestIcon {
  src: string;
  sizes: string;
  type: string;
  purpose?: string;
}

describe.runIf(hasChromium)('PWA: installable app shell that starts offline', () => {
  let server: TestServer;
  let profile: Awaited<ReturnType<typeof launchProfile>>;
  let context: BrowserContext;
  let page: Page;
  const foreign: string[] = [];

  beforeAll(async () => {
    server = await startAppServer();
    profile = await launchProfile({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    context = profile.context;
    watchForeign(context, server, foreign);
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url + '/');
    // the first visit installs the worker; it claims the open page when it activates
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: WAIT });
  }, 180_000);

  afterAll(async () => {
    await profile?.close();
    await server?.close();
  });

  it('has an activated service worker with scope "/" controlling the page', async () => {
    const sw = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return { scope: reg.scope, state: reg.active?.state, script: reg.active?.scriptURL, controlled: navigator.serviceWorker.controller !== null };
    });
    expect(sw).toEqual({ scope: server.url + '/', state: 'activated', script: server.url + '/service-worker.js', controlled: true });
  });

  it('reports no installability errors in Chromium', async () => {
    const cdp = await context.newCDPSession(page);
    const manifest = await cdp.send('Page.getAppManifest');
    expect(manifest.url).toBe(server.url + '/manifest.webmanifest');
    expect(manifest.errors).toEqual([]);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    expect(installabilityErrors).toEqual([]);
    await cdp.detach();
  });

  it('serves the manifest with its fields and every declared icon as a PNG of its size', async () => {
    const res = await fetch(server.url + '/manifest.webmanifest');
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as Record<string, unknown> & { icons: ManifestIcon[] };
    expect(manifest).toMatchObject({ name: 'Messenger', short_name: 'Messenger', display: 'standalone', start_url: '/', scope: '/' });
    expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(manifest.lang).toBeTruthy();

    const any = manifest.icons.filter((i) => (i.purpose ?? 'any').split(' ').includes('any')).map((i) => i.sizes);
    expect(any).toEqual(expect.arrayContaining(['192x192', '512x512']));
    expect(manifest.icons.some((i) => i.purpose?.split(' ').includes('maskable'))).toBe(true);
    for (const icon of manifest.icons) {
      const png = await fetch(new URL(icon.src, server.url));
      expect(png.status, icon.src).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
      const size = pngSize(Buffer.from(await png.arrayBuffer()));
      expect(size && `${size.width}x${size.height}`, icon.src).toBe(icon.sizes);
    }
  });

  it('links the manifest, theme colour, apple-touch-icon (180 PNG) and the iOS home-screen tags', async () => {
    const head = await page.evaluate(() => {
      const attr = (sel: string, name: string) => document.head.querySelector(sel)?.getAttribute(name) ?? null;
      return {
        manifest: attr('link[rel="manifest"]', 'href'),
        themeColor: attr('meta[name="theme-color"]', 'content'),
        appleIcon: attr('link[rel="apple-touch-icon"]', 'href'),
        capable: attr('meta[name="apple-mobile-web-app-capable"]', 'content'),
        statusBar: attr('meta[name="apple-mobile-web-app-status-bar-style"]', 'content'),
        title: attr('meta[name="apple-mobile-web-app-title"]', 'content'),
      };
    });
    expect(head.manifest).toBe('/manifest.webmanifest');
    expect(head.themeColor).toMatch(/^#[0-9a-f]{6}$/i);
    expect(head.capable).toBe('yes');
    expect(head.statusBar).toBeTruthy();
    expect(head.title).toBeTruthy();
    const icon = await fetch(new URL(head.appleIcon!, server.url));
    expect(icon.headers.get('content-type')).toBe('image/png');
    expect(pngSize(Buffer.from(await icon.arrayBuffer()))).toEqual({ width: 180, height: 180 });
  });

  it('precaches the shell and the built assets under msgr-shell-*, and never API data', async () => {
    const cached = await page.evaluate(async () => {
      const names = await caches.keys();
      const urls: string[] = [];
      for (const name of names) for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
      return { names, urls };
    });
    expect(cached.names.length).toBe(1);
    expect(cached.names[0]).toMatch(/^msgr-shell-/);
    expect(cached.urls).toContain('/');
    expect(cached.urls).toContain('/manifest.webmanifest');
    expect(cached.urls.some((u) => u.startsWith('/_app/immutable/entry/'))).toBe(true);
    expect(cached.urls.filter((u) => u.startsWith('/api') || u.startsWith('/collab'))).toEqual([]);
  });

  it('loads the app shell with the network off, on any route, after one online visit', async () => {
    const user = await makeUser(server);
    await signIn(context, server, user);
    await page.goto(server.url + '/');
    await page.getByTestId('me').waitFor({ timeout: WAIT });

    await context.setOffline(true);
    try {
      // the API is not answered from a cache: it really is unreachable
      const api = await page.evaluate(() => fetch('/api/config').then((r) => r.status, (e: Error) => e.name));
      expect(api).toBe('TypeError');

      const app = page.locator('[data-testid="me"], #auth-username').first();
      await page.reload();
      await app.waitFor({ timeout: WAIT });
      await shoot(page, 'pwa-offline-reload');

      // a route never visited before renders from the same shell, not the browser's error page
      await page.goto(server.url + '/rooms/never-visited');
      await app.waitFor({ timeout: WAIT });
      expect(await page.evaluate(() => document.querySelector('link[rel="manifest"]') !== null)).toBe(true);
    } finally {
      await context.setOffline(false);
    }
    expect(foreign).toEqual([]);
  }, 60_000);
});
