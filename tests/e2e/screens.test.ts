/**
 * Controls and screens (issue 11, items 9–13) in Chromium against the production build: where
 * toasts sit and when they go, form errors beside their fields in words, the phone room screen's
 * two menus, the settings screen (password, sessions, room prefs from the list), the member list
 * (menu, order, profile, invite line) and the poll form on a phone. English locale.
 */
import { describe, expect, it } from 'vitest';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { apiClient, makeNamedUser, makeRoom, type TestUser } from '../helpers/server.ts';
import { browserSuite, requireChromium, shoot, WAIT } from './browser-harness.ts';
import { longPress } from './timeline-page.ts';

const hasChromium = requireChromium('tests/e2e/screens.test.ts');
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
async function box(loc: Locator): Promise<Box> {
  const b = await loc.boundingBox();
  if (!b) throw new Error('no box');
  return b;
}
/** Inside the viewport and not covered by anything else at its centre. */
async function fullyShown(page: Page, loc: Locator): Promise<boolean> {
  const b = await box(loc);
  const vp = page.viewportSize()!;
  if (b.x < 0 || b.y < 0 || b.x + b.width > vp.width || b.y + b.height > vp.height) return false;
  return loc.evaluate((el, p) => {
    const hit = document.elementFromPoint(p.x, p.y);
    return !!hit && (hit === el || el.contains(hit) || hit.contains(el));
  }, { x: b.x + b.width / 2, y: b.y + b.height / 2 });
}

describe.runIf(hasChromium)('controls and screens', () => {
  const suite = browserSuite();
  const roomUrl = (id: string) => `${suite.server.url}/rooms/${encodeURIComponent(id)}`;

  async function page(user: TestUser, options = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await suite.newContext(user, options);
    return { context, page: await context.newPage() };
  }

  it('a toast covers no tab, "New chat" or room title, shows words not codes, and goes once a retry succeeds', async () => {
    const alice = await makeNamedUser(suite.server, 'Alice Toast');
    const bob = await makeNamedUser(suite.server, 'Bob Toast');
    const room = await makeRoom(alice, [bob], { name: 'Toasted' });
    for (const options of [DESKTOP, PHONE]) {
      const { context, page: p } = await page(alice, options);
      // the new-chat screen: its tabs and the sidebar's "New chat"
      await p.goto(`${suite.server.url}/new`);
      await p.getByRole('tab', { name: 'Group' }).click();
      await p.getByLabel('Group name').fill('Offline group');
      await p.getByLabel('Search people').fill('Bob Toast');
      await p.getByRole('button', { name: /Bob Toast/ }).first().click();
      await context.setOffline(true);
      await p.getByRole('button', { name: 'Create group' }).click();
      const toast = p.getByTestId('notice');
      await toast.first().waitFor({ timeout: WAIT });
      const shownAt = Date.now();
      expect(await toast.first().innerText()).not.toMatch(/\(|network-error/);
      const covered = [p.getByRole('tab', { name: 'Group' }), p.getByRole('tab', { name: '1:1 chat' })];
      if (options === DESKTOP) covered.push(p.getByRole('link', { name: /New chat/ }));
      for (const target of covered) expect(overlaps(await box(toast.first()), await box(target))).toBe(false);
      await shoot(p, `screens-toast-${options === DESKTOP ? 'desktop' : 'phone'}`);
      // the retry works: the toast goes at once, well before its own lifetime (5 s)
      await context.setOffline(false);
      await p.getByRole('button', { name: 'Create group' }).click();
      await p.getByTestId('room-title').filter({ hasText: 'Offline group' }).waitFor({ timeout: WAIT });
      const retriedAt = Date.now();
      // gone with its cause, not by its timer: within a second of the success
      await toast.first().waitFor({ state: 'detached', timeout: 1000 });
      if (retriedAt - shownAt > 4000) console.warn(`screens: the retry took ${retriedAt - shownAt} ms (machine busy); the toast's early dismissal was not distinguishable from its 5 s lifetime`);

      // in a room: a refused setting (offline) toasts away from the title and the header
      await p.goto(roomUrl(room.id));
      await p.getByTestId('room-title').filter({ hasText: 'Toasted' }).waitFor({ timeout: WAIT });
      await p.getByTestId('room-menu').click();
      await p.getByTestId('menu-settings').click();
      await context.setOffline(true);
      await p.getByTestId('room-mute-toggle').click();
      await toast.first().waitFor({ timeout: WAIT });
      expect(overlaps(await box(toast.first()), await box(p.getByTestId('room-title')))).toBe(false);
      expect(overlaps(await box(toast.first()), await box(p.getByTestId('room-menu')))).toBe(false);
      await context.setOffline(false);
      await context.close();
    }
  }, 90_000);

  it('form errors show next to their fields, all at once, in words and never as codes', async () => {
    const carol = await makeNamedUser(suite.server, 'Carol Form');
    const context = await suite.browser.newContext({ ...DESKTOP, locale: 'en-US' });
    const p = await context.newPage();
    await p.goto(`${suite.server.url}/login`);
    const errorOf = (field: string) => p.locator(`[data-testid="field-error"][data-field="${field}"]`);
    // nothing typed: both fields say so at once
    await p.getByRole('button', { name: 'Log in', exact: true }).click();
    await errorOf('username').waitFor({ timeout: WAIT });
    await errorOf('password').waitFor({ timeout: WAIT });
    expect(await p.locator('#auth-username').getAttribute('aria-describedby')).toContain('auth-username-error');
    // a wrong password: said under the password, in words
    await p.getByLabel('Username').fill(carol.username);
    await p.getByLabel('Password').fill('wrong-password-1');
    await p.getByRole('button', { name: 'Log in', exact: true }).click();
    await errorOf('password').filter({ hasText: 'Wrong username or password.' }).waitFor({ timeout: WAIT });
    expect(await errorOf('username').count()).toBe(0);
    expect(await p.getByTestId('notice').count()).toBe(0);
    expect(await p.locator('body').innerText()).not.toMatch(/invalid-credentials|\(invalid/);
    // registering: a bad username and a weak password, both at once
    await p.getByRole('button', { name: /Create one/ }).click();
    await p.getByLabel('Username').fill('a!');
    await p.getByLabel('Password').fill('short');
    await p.getByRole('button', { name: 'Create account' }).click();
    await errorOf('username').waitFor({ timeout: WAIT });
    await errorOf('password').waitFor({ timeout: WAIT });
    // a taken username comes back from the server and lands under the username
    await p.getByLabel('Username').fill(carol.username);
    await p.getByLabel('Password').fill('password123');
    await p.getByRole('button', { name: 'Create account' }).click();
    await errorOf('username').filter({ hasText: 'That username is taken.' }).waitFor({ timeout: WAIT });
    expect(await p.locator('body').innerText()).not.toMatch(/username-taken/);
    await shoot(p, 'screens-register-errors');
    await context.close();

    // a new group: name and members, both at once
    const { context: c2, page: q } = await page(carol, DESKTOP);
    await q.goto(`${suite.server.url}/new`);
    await q.getByRole('tab', { name: 'Group' }).click();
    await q.getByRole('button', { name: 'Create group' }).click();
    await expect.poll(() => q.getByTestId('field-error').count(), { timeout: WAIT }).toBe(2);
    await c2.close();
  }, 90_000);

  it('phone room screen: back is the one header control; the ⋮ and + menus reach every tool', async () => {
    const dana = await makeNamedUser(suite.server, 'Dana Phone');
    const eli = await makeNamedUser(suite.server, 'Eli Phone');
    const room = await makeRoom(dana, [eli], { name: 'Phone room' });
    const { page: p } = await page(dana, PHONE);
    // the chat list on a phone: a long press opens the room's menu, and lifting the finger does not open the room
    await p.goto(suite.server.url + '/');
    const link = p.getByTestId('room-link').filter({ hasText: 'Phone room' });
    await link.waitFor({ timeout: WAIT });
    await longPress(link, p.getByTestId('room-menu-mute'));
    await p.getByTestId('room-menu-mute').click();
    await p.locator('li[data-muted="true"]').filter({ has: link }).waitFor({ timeout: WAIT });
    expect(new URL(p.url()).pathname).toBe('/');

    await p.goto(roomUrl(room.id));
    const title = p.getByTestId('room-title').filter({ hasText: 'Phone room' });
    await title.waitFor({ timeout: WAIT });
    const titleBox = await box(title);
    // left of the title only the back link; no drawer button anywhere in the header
    const leftControls = await p.locator('.room header a:visible, .room header button:visible').evaluateAll(
      (els, x) => els.filter((e) => e.getBoundingClientRect().right <= x).map((e) => e.getAttribute('aria-label')),
      titleBox.x,
    );
    expect(leftControls).toEqual(['Back to chats']);
    expect(await p.getByTestId('drawer-button').count()).toBe(0);
    // the wide-screen buttons are folded into the menu
    expect(await p.getByTestId('room-files-button').isVisible()).toBe(false);

    // send looks off until there is text, in both themes
    const send = p.getByTestId('send');
    for (const theme of ['light', 'dark']) {
      await p.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
      const off = await send.evaluate((el) => getComputedStyle(el).backgroundColor);
      await p.getByLabel('Message', { exact: true }).fill('x');
      const on = await send.evaluate((el) => getComputedStyle(el).backgroundColor);
      expect(await send.isDisabled()).toBe(false);
      expect(off).not.toBe(on);
      await p.getByLabel('Message', { exact: true }).fill('');
      expect(await send.isDisabled()).toBe(true);
    }
    await p.evaluate(() => (document.documentElement.dataset.theme = 'light'));
    // the emoji button puts an emoji in the box
    await p.getByTestId('composer-emoji').click();
    await p.getByRole('button', { name: 'Insert 👍' }).click();
    expect(await p.getByLabel('Message', { exact: true }).inputValue()).toBe('👍');
    await p.getByLabel('Message', { exact: true }).fill('');

    const menu = async (id: string) => {
      await p.getByTestId('room-menu').click();
      await p.getByTestId(id).click();
    };
    // mentions: a filter, labelled as one, with its way back
    await p.getByTestId('room-menu').click();
    expect(await p.getByTestId('menu-mentions').getAttribute('role')).toBe('menuitemcheckbox');
    expect(await p.getByTestId('menu-mentions').innerText()).toMatch(/Only messages mentioning me/);
    await shoot(p, 'screens-phone-room-menu');
    await p.getByTestId('menu-mentions').click();
    await p.getByTestId('mentions-filter-on').waitFor({ timeout: WAIT });
    await p.getByRole('button', { name: 'Show all' }).click();
    await p.getByTestId('mentions-filter-on').waitFor({ state: 'detached', timeout: WAIT });
    // files
    await menu('menu-files');
    await p.getByTestId('room-files').waitFor({ timeout: WAIT });
    await p.getByTestId('room-files').getByRole('button', { name: 'Close' }).first().click();
    // settings: the panel at its settings section
    await menu('menu-settings');
    await p.getByTestId('room-settings').waitFor({ timeout: WAIT });
    expect(await fullyShown(p, p.getByTestId('room-mute-toggle'))).toBe(true);
    await p.getByTestId('members-panel').getByRole('button', { name: 'Close' }).click();
    // the + menu: poll, file, notice
    await p.getByTestId('composer-plus').click();
    await shoot(p, 'screens-phone-plus-menu');
    await p.getByTestId('menu-poll').click();
    await p.getByTestId('poll-create').waitFor({ timeout: WAIT });
    await p.getByTestId('poll-create').getByRole('button', { name: 'Cancel' }).click();
    await p.getByTestId('composer-plus').click();
    const [chooser] = await Promise.all([p.waitForEvent('filechooser', { timeout: WAIT }), p.getByTestId('attach').click()]);
    expect(chooser.isMultiple()).toBe(true);
    await p.getByTestId('composer-plus').click();
    await p.getByTestId('menu-notice').click();
    await p.getByLabel('Notice text').waitFor({ timeout: WAIT });
    // search, last: it leaves the room for the search screen scoped to it
    await menu('menu-search');
    await p.waitForURL(/\/search/, { timeout: WAIT });
    expect(new URL(p.url()).searchParams.get('room')).toBe(room.id);
  }, 90_000);

  it('settings: change password, log out every other device, pin and mute from the room list', async () => {
    const fay = await makeNamedUser(suite.server, 'Fay Settings');
    const gus = await makeNamedUser(suite.server, 'Gus Settings');
    const first = await makeRoom(fay, [gus], { name: 'First room' });
    await makeRoom(fay, [gus], { name: 'Second room' });
    // a second device of fay's, signed in on its own session
    const login = await apiClient(suite.server.url)('POST', '/api/login', { username: fay.username, password: fay.password });
    const other = await page({ ...fay, token: login.body.token }, DESKTOP);
    await other.page.goto(suite.server.url + '/');
    await other.page.getByTestId('room-link').first().waitFor({ timeout: WAIT });

    const { page: p } = await page(fay, DESKTOP);
    await p.goto(suite.server.url + '/');
    // settings are one click from the sidebar; logout is not a big button on top of the list
    expect(await p.getByRole('button', { name: 'Log out' }).count()).toBe(0);
    await p.getByTestId('open-settings').click();
    await p.getByTestId('settings').waitFor({ timeout: WAIT });
    await expect.poll(() => p.getByTestId('session').count(), { timeout: WAIT }).toBeGreaterThanOrEqual(2);
    await shoot(p, 'screens-settings-desktop');

    // log out all others: the other device ends up at the login screen
    await p.getByTestId('logout-others').click();
    await other.page.waitForURL(/\/login/, { timeout: WAIT });
    await expect.poll(() => p.getByTestId('session').count(), { timeout: WAIT }).toBe(1);

    // change password: wrong current one is said beside its field; then it works
    const form = p.getByTestId('password-form');
    await form.getByLabel('Current password').fill('not-my-password1');
    await form.getByLabel('New password', { exact: true }).fill('newpass456');
    await form.getByLabel('New password again').fill('newpass456');
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByTestId('field-error').filter({ hasText: 'That is not your current password.' }).waitFor({ timeout: WAIT });
    await form.getByLabel('Current password').fill(fay.password);
    await form.getByRole('button', { name: 'Change password' }).click();
    await p.getByTestId('password-changed').waitFor({ timeout: WAIT });
    const anon = await suite.browser.newContext({ ...DESKTOP, locale: 'en-US' });
    const q = await anon.newPage();
    await q.goto(`${suite.server.url}/login`);
    await q.getByLabel('Username').fill(fay.username);
    await q.getByLabel('Password').fill('newpass456');
    await q.getByRole('button', { name: 'Log in', exact: true }).click();
    await q.getByTestId('room-link').first().waitFor({ timeout: WAIT });
    await anon.close();

    // pin and mute from the room list: right-click opens the room's menu
    await p.goto(suite.server.url + '/');
    const row = (name: string) => p.locator('li').filter({ has: p.getByTestId('room-link').filter({ hasText: name }) });
    await row('First room').waitFor({ timeout: WAIT });
    await p.getByTestId('room-link').filter({ hasText: 'First room' }).click({ button: 'right' });
    await p.getByTestId('room-menu-pin').click();
    await row('First room').and(p.locator('[data-pinned="true"]')).waitFor({ timeout: WAIT });
    await expect.poll(() => p.getByTestId('room-link').first().innerText(), { timeout: WAIT }).toContain('First room');
    await p.getByTestId('room-link').filter({ hasText: 'First room' }).click({ button: 'right' });
    await p.getByTestId('room-menu-mute').click();
    await row('First room').and(p.locator('[data-muted="true"]')).waitFor({ timeout: WAIT });
    // the server has both (the list shows what the user document says)
    const rooms = (await p.evaluate(() => fetch('/api/rooms').then((r) => r.json()))) as { rooms: { id: string; pinned: boolean; muted: boolean }[] };
    expect(rooms.rooms.find((r) => r.id === first.id)).toMatchObject({ pinned: true, muted: true });
    // and the same switches in the room's settings show it
    await p.getByTestId('room-link').filter({ hasText: 'First room' }).click();
    await p.getByTestId('room-menu').click();
    await p.getByTestId('menu-settings').click();
    expect(await p.getByTestId('room-mute-toggle').getAttribute('aria-checked')).toBe('true');
    expect(await p.getByTestId('room-pin-toggle').getAttribute('aria-checked')).toBe('true');
  }, 90_000);

  it('members: admins first then by name, me marked, a menu per member, a profile with "1:1 chat", and the invite line', async () => {
    const hana = await makeNamedUser(suite.server, 'Hana Admin');
    const zed = await makeNamedUser(suite.server, 'Zed Member');
    const abe = await makeNamedUser(suite.server, 'Abe Member');
    await abe.api('PATCH', '/api/me', { statusMessage: 'Working from home' });
    const room = await makeRoom(hana, [zed, abe], { name: 'Crew' });
    const { page: p } = await page(hana, DESKTOP);
    await p.goto(roomUrl(room.id));
    await p.getByTestId('room-title').filter({ hasText: 'Crew' }).waitFor({ timeout: WAIT });
    // the new group says who invited whom
    await p.getByTestId('system-line').filter({ hasText: 'Hana Admin invited Zed Member, Abe Member.' }).waitFor({ timeout: WAIT });

    await p.getByTestId('room-members-button').click();
    const names = () => p.getByTestId('member').locator('.name').allInnerTexts();
    await expect.poll(names, { timeout: WAIT }).toEqual(['Hana Admin', 'Abe Member', 'Zed Member']);
    expect(await p.getByTestId('member').first().getByTestId('member-me').innerText()).toBe('Me');
    // no permanent role or kick buttons: they are in the member's menu
    expect(await p.getByRole('button', { name: 'Make admin' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Remove', exact: true }).count()).toBe(0);
    const zedRow = p.locator(`[data-testid="member"][data-user-id="${zed.id}"]`);
    await zedRow.getByTestId('member-menu').click();
    await shoot(p, 'screens-member-menu');
    await zedRow.getByTestId('member-admin').click();
    await zedRow.and(p.locator('[data-role="admin"]')).waitFor({ timeout: WAIT });
    await expect.poll(names, { timeout: WAIT }).toEqual(['Hana Admin', 'Zed Member', 'Abe Member']);

    // tapping a member opens the profile: status message and "1:1 chat"
    await p.locator(`[data-testid="member"][data-user-id="${abe.id}"] .who`).click();
    const sheet = p.getByTestId('member-profile-sheet');
    await sheet.getByTestId('member-status').filter({ hasText: 'Working from home' }).waitFor({ timeout: WAIT });
    await sheet.getByTestId('profile-direct').click();
    await p.getByTestId('room-title').filter({ hasText: 'Abe Member' }).waitFor({ timeout: WAIT });
  }, 90_000);

  it('polls: the create form fits a 360×740 phone; after voting, "Change vote" is a clear action', async () => {
    const ivy = await makeNamedUser(suite.server, 'Ivy Poll');
    const jon = await makeNamedUser(suite.server, 'Jon Poll');
    const room = await makeRoom(ivy, [jon], { name: 'Polling' });
    const { page: p } = await page(ivy, PHONE);
    await p.goto(roomUrl(room.id));
    await p.getByTestId('room-title').filter({ hasText: 'Polling' }).waitFor({ timeout: WAIT });
    await p.getByTestId('composer-plus').click();
    await p.getByTestId('menu-poll').click();
    const form = p.getByTestId('poll-create');
    await form.waitFor({ timeout: WAIT });
    for (const loc of [form.getByLabel('Question'), form.getByLabel('Option 1'), form.getByLabel('Option 2'), form.getByTestId('poll-deadline'), form.getByRole('button', { name: 'Create poll' })]) {
      expect(await fullyShown(p, loc)).toBe(true);
    }
    for (const label of [form.locator('label.check').first(), form.locator('label.check').nth(1)]) expect((await box(label)).height).toBeGreaterThanOrEqual(44);
    await shoot(p, 'screens-phone-poll-create');
    await form.getByLabel('Question').fill('Lunch?');
    await form.getByLabel('Option 1').fill('Noodles');
    await form.getByLabel('Option 2').fill('Rice');
    await form.getByRole('button', { name: 'Create poll' }).click();
    const poll = p.getByTestId('poll').filter({ hasText: 'Lunch?' });
    await poll.waitFor({ timeout: WAIT });
    const option = poll.locator('label').filter({ hasText: 'Noodles' });
    expect((await box(option)).height).toBeGreaterThanOrEqual(44);
    await option.click();
    await poll.getByRole('button', { name: 'Vote', exact: true }).click();
    const change = poll.getByTestId('change-vote');
    await change.waitFor({ timeout: WAIT });
    expect(await change.isEnabled()).toBe(true);
    expect(await change.innerText()).toBe('Change vote');
    await change.click();
    await poll.locator('label').filter({ hasText: 'Rice' }).click();
    await poll.getByRole('button', { name: 'Update vote' }).click();
    await expect.poll(() => poll.locator('label').filter({ hasText: 'Rice' }).getByTestId('tally').innerText(), { timeout: WAIT }).toBe('1');
    await poll.getByTestId('change-vote').waitFor({ timeout: WAIT });
  }, 90_000);
});
