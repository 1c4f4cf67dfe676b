/**
 * Single sign-on in the browser, against a real provider (oidc-provider's own login and consent
 * pages): the login page's "Sign in with …" button → the provider → back, signed in, chat list
 * shown; a failed callback shown as readable text on the login page; and the SSO-only login page
 * with its break-glass password login for a server admin.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeUser, type TestServer } from '../helpers/server.ts';
import { listenOidcProvider, type TestProvider } from '../helpers/oidc-provider.ts';
import { launchBrowser, requireChromium, ROOT, startAppServer, WAIT, type ContextOptions } from './browser-harness.ts';

const hasChromium = requireChromium('tests/e2e/oidc.test.ts');
const CLIENT = { client_id: 'messenger', client_secret: 'messenger-secret-0123456789' };
const SCRATCH = path.join(ROOT, 'test-results/e2e/oidc');

async function startPair(oidcOnly: boolean) {
  const idp = await listenOidcProvider();
  const server = await startAppServer({
    oidcIssuer: idp.issuer, oidcClientId: CLIENT.client_id, oidcClientSecret: CLIENT.client_secret,
    oidcRedirectUri: 'http://placeholder/auth/oidc/callback', oidcName: 'Test IdP', oidcOnly,
  });
  const redirectUri = `${server.url}/auth/oidc/callback`;
  (server.app.services.oidc!.settings as { redirectUri: string }).redirectUri = redirectUri;
  const provider = idp.start([{ ...CLIENT, redirect_uris: [redirectUri] }], {
    alice: { preferred_username: 'alice', name: 'Alice Kim', email: 'alice@corp.example' },
  });
  return { server, provider };
}

describe.runIf(hasChromium)('single sign-on in the browser', () => {
  let server: TestServer;
  let provider: TestProvider;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function open(options: ContextOptions = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', ...options });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('[browser]', err));
    return page;
  }

  beforeAll(async () => {
    ({ server, provider } = await startPair(false));
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
    await provider?.close();
  });

  it('logs in through the provider’s login and consent pages and lands in the chat list', async () => {
    const page = await open();
    await page.goto(server.url + '/login');
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    // the provider's own pages
    await page.waitForURL((u) => u.href.startsWith(provider.issuer + '/interaction/'), { timeout: WAIT });
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('anything');
    await page.locator('button[type="submit"]').click();
    await page.getByRole('button', { name: 'Continue' }).click({ timeout: WAIT });
    // back home, signed in as the account made from the claims
    await page.waitForURL(server.url + '/', { timeout: WAIT });
    await page.getByTestId('me').filter({ hasText: 'Alice Kim' }).waitFor({ timeout: WAIT });
    await page.getByText('No chats yet').waitFor({ timeout: WAIT });
    const me = await page.evaluate(async () => (await (await fetch('/api/me')).json()) as { user: { username: string } });
    expect(me.user.username).toBe('alice');
  }, 90_000);

  it('shows a failed sign-in as readable text on the login page, not JSON', async () => {
    const page = await open();
    // a callback this browser never started (a stale tab, a forged link)
    await page.goto(`${server.url}/auth/oidc/callback?code=forged&state=forged`);
    await page.waitForURL(`${server.url}/login?error=oidc-state-invalid`, { timeout: WAIT });
    const alert = page.getByRole('alert').filter({ hasText: 'That sign-in took too long or was already used' });
    await alert.waitFor({ timeout: WAIT });
    expect(await alert.innerText()).toContain('oidc-state-invalid');
    // the button is there to try again
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).waitFor();
  }, 60_000);

  it('looks right: login with the SSO button (en/ko, light/dark, desktop/phone)', async () => {
    fs.mkdirSync(SCRATCH, { recursive: true });
    for (const [locale, scheme, width, height] of [['en-US', 'light', 1280, 800], ['ko-KR', 'light', 360, 740], ['en-US', 'dark', 360, 740], ['ko-KR', 'dark', 1280, 800]] as const) {
      const page = await open({ locale, colorScheme: scheme, viewport: { width, height } });
      await page.goto(`${server.url}/login?error=oidc-denied`);
      await page.locator('a.sso').waitFor({ timeout: WAIT });
      if (locale === 'ko-KR') expect(await page.locator('a.sso').innerText()).toBe('회사 계정으로 로그인');
      await page.screenshot({ path: path.join(SCRATCH, `login-${locale}-${scheme}-${width}.png`) });
      await page.context().close();
    }
  }, 180_000);
});

describe.runIf(hasChromium)('the SSO-only login page', () => {
  let server: TestServer;
  let provider: TestProvider;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    ({ server, provider } = await startPair(true));
    await makeUser(server, 'breakglass', 'password123'); // the first account: the server admin
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await provider?.close();
  });

  it('offers the company login, and password login to a server admin on request', async () => {
    context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'ko-KR' });
    const page = await context.newPage();
    await page.goto(server.url + '/login');
    await page.getByRole('link', { name: '회사 계정으로 로그인' }).waitFor({ timeout: WAIT });
    expect(await page.getByLabel('비밀번호').count()).toBe(0);
    fs.mkdirSync(SCRATCH, { recursive: true });
    await page.screenshot({ path: path.join(SCRATCH, 'sso-only-ko-360.png') });
    await page.getByRole('button', { name: '관리자이신가요? 비밀번호로 로그인' }).click();
    await page.getByLabel('아이디').fill('breakglass');
    await page.getByLabel('비밀번호', { exact: true }).fill('password123');
    await page.getByRole('button', { name: '로그인', exact: true }).click();
    await page.waitForURL(server.url + '/', { timeout: WAIT });
    await page.getByTestId('me').filter({ hasText: 'breakglass' }).waitFor({ timeout: WAIT });
  }, 90_000);
});
