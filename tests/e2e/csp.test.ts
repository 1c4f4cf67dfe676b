/**
 * The app under its Content-Security-Policy (issue 12): Debian's Chromium against the production
 * build. Logging in through the form, opening a room, sending a message and an image (thumbnail
 * shown), and the service worker all work with no `securitypolicyviolation` event and no console
 * error. The positive control: an inline script injected into the page is refused, and the
 * listener reports exactly that.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeUser, makeRoom, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { png } from '../helpers/uploads.ts';
import { browserSuite, requireChromium, shoot, WAIT } from './browser-harness.ts';

const hasChromium = requireChromium('tests/e2e/csp.test.ts');

interface Violation {
  directive: string;
  blocked: string;
  sample: string;
}

/** Every CSP violation and console error of the page, from before its first script. */
async function watchPolicy(page: Page): Promise<{ violations: () => Promise<Violation[]>; consoleErrors: string[] }> {
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: Violation[] };
    w.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      w.cspViolations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample });
    });
  });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  return { violations: () => page.evaluate(() => (window as unknown as { cspViolations: Violation[] }).cspViolations), consoleErrors };
}

describe.runIf(hasChromium)('the app under a strict CSP', () => {
  const suite = browserSuite();
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  beforeAll(async () => {
    ({ server } = suite);
    alice = await makeUser(server);
    bob = await makeUser(server);
    roomId = (await makeRoom(alice, [bob], { name: 'CSP room' })).id;
  });

  it('sends the policy on the HTML shell: hashed scripts only, nothing inline unhashed', async () => {
    const res = await fetch(`${server.url}/`);
    const csp = res.headers.get('content-security-policy')!;
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['script-src']).toContain("'self'");
    expect(directives['script-src'].some((s: string) => s.startsWith("'sha256-"))).toBe(true);
    expect(directives['script-src']).not.toContain("'unsafe-inline'");
    expect(directives['script-src']).not.toContain("'unsafe-eval'");
    expect(directives['connect-src']).toEqual(["'self'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['base-uri']).toEqual(["'self'"]);
    expect(directives['img-src']).toEqual(["'self'", 'blob:', 'data:']);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('logs in, opens a room, sends a message and an image with no violation', async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const page = await context.newPage();
    const policy = await watchPolicy(page);

    await page.goto(`${server.url}/`);
    await page.getByLabel('Username').fill(alice.username);
    await page.getByLabel('Password', { exact: true }).fill('password123');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByTestId('room-link').filter({ hasText: 'CSP room' }).click({ timeout: WAIT });

    const composer = page.getByLabel('Message', { exact: true });
    await composer.fill('CSP에서도 잘 가요');
    await composer.press('Enter');
    const sent = page.getByTestId('message').filter({ hasText: 'CSP에서도 잘 가요' });
    await sent.and(page.locator(':not([data-pending])')).waitFor({ timeout: WAIT });

    // an image through the attach button: the upload (XHR), its preview (blob:) and the thumbnail (img-src 'self')
    await page.getByTestId('composer-plus').click();
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('attach').click()]);
    await chooser.setFiles({ name: 'csp-picture.png', mimeType: 'image/png', buffer: await png(160, 90) });
    const thumb = page.getByTestId('message').locator('img.thumb-img').last();
    await thumb.waitFor({ timeout: WAIT });
    await waitFor(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), { timeout: WAIT, message: 'the thumbnail to load' });

    // the live socket (connect-src 'self' covers ws: of the same host) and the service worker (worker-src)
    const swReady = await page.evaluate(() => Promise.race([navigator.serviceWorker.ready.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]));
    expect(swReady).toBe(true);
    await shoot(page, 'csp-room');

    expect(await policy.violations()).toEqual([]);
    // (the one expected console error is the 401 of the session check before logging in)
    expect(policy.consoleErrors.filter((m) => !/Failed to load resource: .* 401/.test(m))).toEqual([]);
    expect(policy.consoleErrors.filter((m) => /Content.Security.Policy|Permissions.Policy|Refused to/i.test(m))).toEqual([]);

    // reloads go through the service worker, and the second revalidates the page (its 304 must keep the page's policy)
    for (let i = 0; i < 2; i++) {
      await page.reload();
      await page.getByLabel('Message', { exact: true }).waitFor({ timeout: WAIT });
    }
    await page.getByTestId('message').filter({ hasText: 'CSP에서도 잘 가요' }).waitFor({ timeout: WAIT });
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    expect(await policy.violations()).toEqual([]);
    expect(policy.consoleErrors.filter((m) => /Content.Security.Policy|Permissions.Policy|Refused to/i.test(m))).toEqual([]);

    // positive control: an injected inline script is refused and reported
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.injectedRan = true';
      document.body.append(s);
      return (window as unknown as { injectedRan?: boolean }).injectedRan === true;
    });
    expect(ran).toBe(false);
    await waitFor(async () => (await policy.violations()).length > 0, { timeout: WAIT, message: 'the violation report' });
    expect(await policy.violations()).toEqual([expect.objectContaining({ directive: 'script-src-elem', blocked: 'inline' })]);
    await context.close();
  }, 90_000);

  it('refuses to be framed by another origin', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const consoleText: string[] = [];
    page.on('console', (m) => void consoleText.push(m.text()));
    // a page of another origin (about:blank content, opaque to us) framing the app
    await page.setContent(`<iframe id="f" src="${server.url}/login"></iframe>`);
    await waitFor(() => consoleText.some((t) => /frame-ancestors/.test(t)), { timeout: WAIT, message: 'Chromium to refuse the frame' });
    const frame = page.frames().find((f) => f !== page.mainFrame())!;
    expect(await frame.evaluate(() => document.querySelector('form') === null).catch(() => true)).toBe(true);
    await context.close();
  }, 30_000);
});
