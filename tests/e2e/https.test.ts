/**
 * The app over HTTPS with the local CA, as a phone on the LAN sees it once the CA is installed:
 * Chromium trusts the server certificate through `--ignore-certificate-errors-spki-list` (the way
 * to trust one certificate without a system store), the page is a secure context, the service
 * worker registers, and a message goes over WSS from one browser to another. Without the flag the
 * same certificate is refused (the control).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureCa, issueServerCert, spkiHash, tlsPaths } from '../../server/tls/local-ca.ts';
import type { TestServer, TestUser } from '../helpers/server.ts';
import { LAUNCH, requireChromium, shoot, signIn, startAppServer, WAIT } from './browser-harness.ts';

const hasChromium = requireChromium('tests/e2e/https.test.ts');

/** JSON over HTTPS trusting only `ca`. */
function httpsJson(url: string, ca: string, method: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe.runIf(hasChromium)('HTTPS with the local CA in Chromium', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-e2e-https-'));
  let server: TestServer;
  let browser: Browser;
  let caPem: string;
  const contexts: BrowserContext[] = [];
  const sockets: string[] = [];

  async function user(name: string): Promise<TestUser> {
    const res = await httpsJson(`${server.url}/api/register`, caPem, 'POST', { username: name, password: 'password123', displayName: name });
    expect(res.status).toBe(201);
    return { id: res.body.user.id, username: name, token: res.body.token, api: undefined as never };
  }

  async function pageAs(u: TestUser): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    contexts.push(context);
    await signIn(context, server, u);
    const page = await context.newPage();
    page.on('websocket', (ws) => void sockets.push(ws.url()));
    page.on('pageerror', (err) => console.error('[browser]', err));
    return page;
  }

  beforeAll(async () => {
    const paths = tlsPaths(dataDir);
    await issueServerCert(paths, await ensureCa(paths), { hosts: [], ips: [] });
    caPem = fs.readFileSync(paths.caCert, 'utf8');
    server = await startAppServer({ dataDir });
    const spki = await spkiHash(fs.readFileSync(paths.serverCert, 'utf8'));
    browser = await chromium.launch({ ...LAUNCH, args: [...LAUNCH.args!, `--ignore-certificate-errors-spki-list=${spki}`] });
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses the certificate without the trust flag (control)', async () => {
    const plain = await chromium.launch(LAUNCH);
    try {
      const page = await plain.newPage();
      await expect(page.goto(server.url + '/')).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await plain.close();
    }
  }, 60_000);

  it('loads as a secure context and registers the service worker', async () => {
    expect(server.url).toMatch(/^https:\/\//);
    const page = await pageAs(await user('sw_user'));
    await page.goto(server.url + '/');
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: WAIT });
    const sw = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return { scope: reg.scope, state: reg.active?.state };
    });
    expect(sw).toEqual({ scope: server.url + '/', state: 'activated' });
    await shoot(page, 'https-app');
  }, 90_000);

  it('sends a message over WSS that arrives in the other browser', async () => {
    const alice = await user('wss_alice');
    const bob = await user('wss_bob');
    const room = await httpsJson(`${server.url}/api/rooms`, caPem, 'POST', { name: 'TLS room', memberIds: [bob.id] }, alice.token);
    expect(room.status).toBe(201);
    const [a, b] = [await pageAs(alice), await pageAs(bob)];
    await a.goto(`${server.url}/`);
    await b.goto(`${server.url}/`);
    await a.getByTestId('room-link').filter({ hasText: 'TLS room' }).click({ timeout: WAIT });
    await b.getByTestId('room-link').filter({ hasText: 'TLS room' }).click({ timeout: WAIT });
    const text = `보안 연결 ${Math.random().toString(36).slice(2, 8)}`;
    const composer = a.getByLabel('Message', { exact: true });
    await composer.fill(text);
    await composer.press('Enter');
    await b.getByTestId('message').filter({ hasText: text }).waitFor({ timeout: WAIT });
    // the only sockets were secure ones to our own origin
    const wsOrigin = server.url.replace(/^https/, 'wss');
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.filter((u) => !u.startsWith(wsOrigin + '/collab'))).toEqual([]);
  }, 120_000);
});
