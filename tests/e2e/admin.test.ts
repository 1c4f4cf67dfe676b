/**
 * The server admin dashboard (issue 10 §2–3) in Chromium against the production build: a normal
 * user finds no trace of it (no link, the not-found view, 404 from the API); disabling a user who is
 * chatting logs their page out at once and keeps them out until enabled; a setting saved in the
 * dashboard is what `/api/config` publishes; the audit log shows the action and its CSV export keeps
 * Korean text (UTF-8 with a BOM); screenshots of every screen, desktop and phone, Korean and English.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page, WebSocket } from 'playwright-core';
import { makeRoom, makeUser, type TestUser } from '../helpers/server.ts';
import { en } from '../../src/lib/i18n/en.ts';
import { ko } from '../../src/lib/i18n/ko.ts';
import { browserSuite, requireChromium, shoot, WAIT, type ContextOptions } from './browser-harness.ts';

const hasChromium = requireChromium('tests/e2e/admin.test.ts');
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** RFC 4180 rows (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    } else cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

describe.runIf(hasChromium)('server admin dashboard', () => {
  // BACKUP_DIR set: the health screen can make a backup now
  const suite = browserSuite({ config: { backupDir: fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-e2e-backup-')) } });
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  beforeAll(async () => {
    // the first account of a server is its admin: registered before anyone else
    admin = await makeUser(suite.server, 'kim_admin');
    alice = await makeUser(suite.server, 'alice_lee');
    bob = await makeUser(suite.server, 'bob_park');
    await admin.api('PATCH', '/api/me', { displayName: '김관리' });
    await alice.api('PATCH', '/api/me', { displayName: '이앨리스' });
    await bob.api('PATCH', '/api/me', { displayName: '박밥' });
    roomId = (await makeRoom(admin, [alice, bob], { name: '프로젝트팀' })).id;
  });

  /** A signed-in page at `path`, recording the admin API requests it makes. */
  async function open(user: TestUser, path: string, options: ContextOptions = {}) {
    const context = await suite.newContext(user, options);
    const page = await context.newPage();
    const adminRequests: string[] = [];
    page.on('request', (r) => r.url().includes('/api/admin') && adminRequests.push(r.url()));
    await page.goto(suite.server.url + path);
    return { page, adminRequests };
  }

  const row = (page: Page, username: string) => page.locator(`[data-testid="admin-user"][data-username="${username}"]`);
  const confirm = (page: Page) => page.locator('[data-testid="confirm-dialog"][open]').locator('.actions button').last();
  const notice = (page: Page, code: string) => page.locator(`[data-testid="notice"][data-code="${code}"]`);

  it('shows a normal user no link, the not-found view at /admin, and 404 from the API', async () => {
    const { page, adminRequests } = await open(alice, '/');
    await page.getByTestId('room-list').getByText('프로젝트팀').waitFor({ timeout: WAIT });
    expect(await page.getByTestId('admin-link').count()).toBe(0);

    for (const path of ['/admin', '/admin/settings', '/admin/live']) {
      await page.goto(suite.server.url + path);
      await page.getByTestId('not-found').waitFor({ timeout: WAIT });
    }
    // the same view as an address that does not exist
    await page.goto(suite.server.url + '/no-such-page');
    await page.getByTestId('not-found').waitFor({ timeout: WAIT });
    expect(adminRequests).toEqual([]);

    const asAlice = await alice.api('GET', '/api/admin/users');
    const missing = await alice.api('GET', '/api/no-such-route');
    expect(asAlice.status).toBe(404);
    expect(asAlice.body.error.code).toBe('not-found');
    expect(missing).toEqual(asAlice);
  });

  it('logs a disabled user out at once and keeps them out until enabled', async () => {
    // bob is chatting in his own browser
    const { page: bobPage } = await open(bob, `/rooms/${roomId}`);
    const sockets: WebSocket[] = [];
    bobPage.on('websocket', (ws) => sockets.push(ws));
    const composer = bobPage.getByLabel('Message', { exact: true });
    await composer.fill('회의 자료 올렸어요');
    await composer.press('Enter');
    await bobPage.locator('[data-testid="message"]:not([data-pending])').filter({ hasText: '회의 자료 올렸어요' }).waitFor({ timeout: WAIT });
    const closed = new Promise<void>((resolve) => {
      const watch = (ws: WebSocket) => ws.on('close', () => resolve());
      sockets.forEach(watch);
      bobPage.on('websocket', watch);
    });

    const { page } = await open(admin, '/');
    await page.getByTestId('admin-link').click();
    await row(page, 'bob_park').waitFor({ timeout: WAIT });
    await row(page, 'bob_park').getByTestId('user-disable').click();
    await confirm(page).click();
    await row(page, 'bob_park').getByTestId('badge-disabled').waitFor({ timeout: WAIT });

    // bob's page: the socket closes and the login screen replaces the chat
    await closed;
    await bobPage.locator('#auth-username').waitFor({ timeout: WAIT });
    await bobPage.locator('#auth-username').fill('bob_park');
    await bobPage.locator('#auth-password').fill('password123');
    await bobPage.locator('form button[type="submit"]').click();
    await notice(bobPage, 'account-disabled').waitFor({ timeout: WAIT });
    expect(await notice(bobPage, 'account-disabled').textContent()).toContain(en.errors['account-disabled']);
    expect(await bobPage.locator('#auth-username').isVisible()).toBe(true);

    // enabled again: he logs in
    await row(page, 'bob_park').getByTestId('user-enable').click();
    await confirm(page).click();
    await expect.poll(() => row(page, 'bob_park').getByTestId('badge-disabled').count(), { timeout: WAIT }).toBe(0);
    await bobPage.locator('form button[type="submit"]').click();
    await bobPage.getByTestId('room-list').getByText('프로젝트팀').waitFor({ timeout: WAIT });

    // the last server admin cannot give the role up: said as a sentence
    await row(page, 'kim_admin').getByTestId('user-admin').click();
    await confirm(page).click();
    await notice(page, 'last-server-admin').waitFor({ timeout: WAIT });
    expect(await notice(page, 'last-server-admin').textContent()).toContain(en.errors['last-server-admin']);
    expect(await row(page, 'kim_admin').getByTestId('badge-admin').count()).toBe(1);
  });

  it('creates an account in a dialog, ends a session, resets the password, and deletes it only with its username typed', async () => {
    const { page } = await open(admin, '/admin', { ...DESKTOP, locale: 'ko-KR' });
    await page.getByTestId('admin-user-create').click();
    const create = page.getByTestId('create-user-dialog');
    await create.getByTestId('new-username').fill('temp_user');
    await create.getByTestId('new-password').fill('password456');
    await create.locator('button[type="submit"]').click();
    await row(page, 'temp_user').waitFor({ timeout: WAIT });

    // a login from elsewhere: one session, listed and ended from the dashboard
    const login = (password: string) =>
      fetch(suite.server.url + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'temp_user', password }) });
    const { token } = await (await login('password456')).json();
    await page.getByTestId('admin-user-search').fill('temp');
    await expect.poll(() => page.locator('[data-testid="admin-user"]').count(), { timeout: WAIT }).toBe(1);
    await row(page, 'temp_user').getByTestId('user-sessions').click();
    const sessions = page.getByTestId('sessions-dialog');
    await sessions.getByTestId('session').first().waitFor({ timeout: WAIT });
    await sessions.getByTestId('session-revoke').first().click();
    await expect.poll(() => sessions.getByTestId('session').count(), { timeout: WAIT }).toBe(0);
    expect((await fetch(suite.server.url + '/api/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await page.keyboard.press('Escape');

    // a new password set from the dashboard: the old one stops working
    await row(page, 'temp_user').getByTestId('user-password').click();
    await page.getByTestId('reset-password').fill('newpass789');
    await page.getByTestId('password-dialog').locator('button[type="submit"]').click();
    await page.getByTestId('password-dialog').locator('form').waitFor({ state: 'detached', timeout: WAIT });
    expect((await login('password456')).status).toBe(401);
    expect((await login('newpass789')).status).toBe(200);

    await row(page, 'temp_user').getByTestId('user-delete').click();
    const dialog = page.getByTestId('delete-user-dialog');
    const go = dialog.getByTestId('delete-user-confirm');
    expect(await go.isDisabled()).toBe(true);
    await dialog.getByTestId('delete-confirm-name').fill('temp_use');
    expect(await go.isDisabled()).toBe(true);
    await dialog.getByTestId('delete-confirm-name').fill('temp_user');
    await shoot(page, 'admin-delete-dialog-desktop-ko-light');
    await go.click();
    await page.getByText(ko.admin.users.noMatch('temp')).waitFor({ timeout: WAIT });
    expect((await admin.api('GET', '/api/admin/users?q=temp_user')).body.total).toBe(0);
  });

  it('removes a chat after confirmation', async () => {
    const doomed = await makeRoom(alice, [bob], { name: '임시방' });
    const { page } = await open(admin, '/admin/rooms');
    const line = page.locator(`[data-testid="admin-room"][data-room-id="${doomed.id}"]`);
    await line.waitFor({ timeout: WAIT });
    expect(await line.textContent()).toContain('임시방');
    await line.getByTestId('room-remove').click();
    await confirm(page).click();
    await line.waitFor({ state: 'detached', timeout: WAIT });
    expect((await alice.api('GET', `/api/rooms/${doomed.id}`)).status).toBe(404);
  });

  it('applies a saved setting at once: /api/config publishes it', async () => {
    const { page } = await open(admin, '/admin/settings');
    const max = page.getByTestId('setting-upload-max');
    await max.waitFor({ timeout: WAIT });
    await max.fill('7');
    await page.getByTestId('setting-type-zip').uncheck();
    await page.getByTestId('settings-save').click();
    const applied = page.getByTestId('settings-applied');
    await applied.waitFor({ timeout: WAIT });
    expect(await applied.textContent()).toContain('7 MB');
    expect(await applied.textContent()).toContain('−zip');

    const config = await (await fetch(suite.server.url + '/api/config')).json();
    expect(config.uploads.maxBytes).toBe(7 * 1024 * 1024);
    expect(config.uploads.types.zip).toBeUndefined();
    expect(config.uploads.types.pdf).toBeDefined();
  });

  it('makes an invite link in the dashboard that one newcomer registers with, while invite-only keeps others out', async () => {
    const { page } = await open(admin, '/admin/settings');
    await page.getByTestId('setting-upload-max').waitFor({ timeout: WAIT });
    await page.getByLabel(new RegExp(en.admin.settings.registrationModes['invite-only'])).check();
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-applied').waitFor({ timeout: WAIT });
    await page.getByText(en.admin.invites.hintActive).waitFor({ timeout: WAIT });
    await page.getByTestId('invite-note').fill('12월 신규 입사자');
    await page.getByTestId('invite-create').click();
    const url = await page.getByTestId('invite-url').inputValue();
    expect(url).toMatch(new RegExp(`^${suite.server.url}/login\\?invite=[A-Za-z0-9_-]{32}$`));

    const visitor = await suite.browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'en-US' });
    try {
      const p1 = await visitor.newPage();
      // without a link: no register form, and the page says why
      await p1.goto(suite.server.url + '/login');
      await p1.getByText(en.auth.inviteOnly).waitFor({ timeout: WAIT });
      expect(await p1.getByRole('button', { name: en.auth.toRegister }).count()).toBe(0);
      // with it: the register form, and the account is made
      await p1.goto(url);
      await p1.getByText(en.auth.inviteOk).waitFor({ timeout: WAIT });
      await p1.locator('#auth-username').fill('newcomer_jung');
      await p1.locator('#auth-password').fill('welcome2026');
      await p1.getByRole('button', { name: en.auth.register, exact: true }).click();
      await p1.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: WAIT });
      const second = await suite.browser.newContext({ locale: 'en-US' });
      try {
        const p2 = await second.newPage();
        await p2.goto(url);
        await p2.getByText(en.auth.inviteInvalid).waitFor({ timeout: WAIT });
      } finally {
        await second.close();
      }
    } finally {
      await visitor.close();
    }
    await page.reload();
    const list = page.getByTestId('invite-list');
    await list.getByText('12월 신규 입사자').waitFor({ timeout: WAIT });
    expect(await list.textContent()).toContain(en.admin.invites.states['used-up']);
    await admin.api('PATCH', '/api/admin/settings', { registration: 'open' });
  });

  it('shows health and maintenance jobs, and runs one by hand', async () => {
    const { page } = await open(admin, '/admin/health');
    const job = page.locator('[data-testid="health-jobs"] tr[data-job="checkpoint"]');
    await job.waitFor({ timeout: WAIT });
    await page.getByTestId('health-disk').getByText(/free/).waitFor({ timeout: WAIT });
    await job.getByRole('button', { name: en.admin.health.runNamed(en.admin.health.jobs.checkpoint[0]) }).click();
    await expect.poll(() => job.locator('td').nth(3).textContent(), { timeout: WAIT }).toContain(en.admin.health.ok);
    expect(await job.locator('td').nth(2).textContent()).not.toContain(en.admin.health.never);
    const audit = (await admin.api('GET', '/api/admin/audit?action=admin.maintenance')).body.entries;
    expect(audit.some((e: { targetId: string }) => e.targetId === 'checkpoint')).toBe(true);
    // a backup without a shell: made online, verified, shown
    await page.getByTestId('backup-now').click();
    await page.getByTestId('health-backup').getByText(en.admin.health.backupVerified).waitFor({ timeout: 30_000 });
  });

  it('shows the disable in the audit log and exports it as CSV with a BOM and Korean intact', async () => {
    const { page } = await open(admin, '/admin/audit');
    await page.getByTestId('audit-action').selectOption('admin.user.disable');
    await page.getByTestId('audit-apply').click();
    const entries = page.locator('[data-testid="audit-entry"]');
    await expect.poll(() => entries.count(), { timeout: WAIT }).toBe(1);
    expect(await entries.first().getAttribute('data-action')).toBe('admin.user.disable');
    expect(await entries.first().textContent()).toContain('김관리');
    expect(await entries.first().textContent()).toContain('@bob_park');
    expect(await page.getByTestId('audit-export-csv').getAttribute('href')).toContain('action=admin.user.disable');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-export-csv').click()]);
    const bytes = fs.readFileSync((await download.path())!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parseCsv(bytes.subarray(3).toString('utf8'));
    const header = rows[0];
    const data = rows.slice(1);
    expect(data).toHaveLength(1);
    const cell = (name: string) => data[0][header.indexOf(name)];
    expect(cell('action')).toBe('admin.user.disable');
    expect(cell('actor')).toBe('김관리 (@kim_admin)');
    expect(cell('target id')).toBe(bob.id);
  });

  it('screenshots: users, settings, live figures and audit, desktop and phone, Korean and English', async () => {
    const all = [
      { name: 'desktop-ko-light', options: { ...DESKTOP, locale: 'ko-KR', colorScheme: 'light' as const } },
      { name: 'desktop-en-dark', options: { ...DESKTOP, locale: 'en-US', colorScheme: 'dark' as const } },
      { name: 'phone-ko-dark', options: { ...PHONE, locale: 'ko-KR', colorScheme: 'dark' as const } },
      { name: 'phone-en-light', options: { ...PHONE, locale: 'en-US', colorScheme: 'light' as const } },
    ];
    // CI: two variants that still cover both sizes, languages and themes (npm run screenshots renders all)
    const variants = process.env.CI ? [all[0], all[3]] : all;
    // the live screens first, all at once: their charts fill while the others are taken
    const pages = await Promise.all(variants.map((v) => open(admin, '/admin/live', v.options).then((o) => o.page)));
    for (const [i, v] of variants.entries()) {
      const page = pages[i];
      await expect.poll(() => page.locator('[data-testid="fig-connections"] [data-testid="sparkline"]').getAttribute('data-points').then(Number), { timeout: WAIT }).toBeGreaterThanOrEqual(2);
      const noSideways = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
      expect(await noSideways()).toBe(true);
      await shoot(page, `admin-live-${v.name}`);

      await page.getByTestId('admin-tab-users').click();
      await row(page, 'bob_park').waitFor({ timeout: WAIT });
      expect(await noSideways()).toBe(true);
      await shoot(page, `admin-users-${v.name}`);

      await page.getByTestId('admin-tab-settings').click();
      await page.getByTestId('setting-upload-max').waitFor({ timeout: WAIT });
      expect(await noSideways()).toBe(true);
      await shoot(page, `admin-settings-${v.name}`);
      await page.getByTestId('admin-invites').scrollIntoViewIfNeeded();
      await shoot(page, `admin-invites-${v.name}`);

      await page.getByTestId('admin-tab-audit').click();
      await page.locator('[data-testid="audit-entry"]').first().waitFor({ timeout: WAIT });
      expect(await noSideways()).toBe(true);
      await shoot(page, `admin-audit-${v.name}`);

      await page.getByTestId('admin-tab-health').click();
      await page.getByTestId('health-jobs').waitFor({ timeout: WAIT });
      expect(await noSideways()).toBe(true);
      await shoot(page, `admin-health-${v.name}`);

      await page.getByTestId('admin-tab-rooms').click();
      await page.locator('[data-testid="admin-room"]').first().waitFor({ timeout: WAIT });
      expect(await noSideways()).toBe(true);
      await shoot(page, `admin-rooms-${v.name}`);
    }
  }, 120_000);
});
