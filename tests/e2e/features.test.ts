/**
 * Conversation features in Chromium against the production build, two people in a group room:
 * read counts under messages, reactions, typing, @mentions (autocomplete, highlight, filter),
 * pinned notices and polls — each seen live by the other person. English locale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { apiClient, makeRoom, type TestServer, type TestUser } from '../helpers/server.ts';
import { launchBrowser, requireChromium, shoot, signIn, startAppServer, WAIT, watchForeign } from './browser-harness.ts';
import { messageAction, type MessageActionName } from './timeline-page.ts';

const hasChromium = requireChromium('tests/e2e/features.test.ts');

/** Like `makeUser`, with a display name (mentions match display names, Korean ones too). */
async function makeNamedUser(server: TestServer, username: string, displayName: string): Promise<TestUser> {
  const res = await apiClient(server.url)('POST', '/api/register', { username, password: 'password123', displayName });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, token: res.body.token, api: apiClient(server.url, res.body.token) };
}

describe.runIf(hasChromium)('conversation features in a group room', () => {
  let server: TestServer;
  let browser: Browser;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let a: Page;
  let b: Page;
  const contexts: BrowserContext[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    server = await startAppServer();
    browser = await launchBrowser();
    const tag = Math.random().toString(36).slice(2, 7);
    alice = await makeNamedUser(server, `alice_${tag}`, 'Alice Kim');
    bob = await makeNamedUser(server, `bob_${tag}`, '김민수');
    roomId = (await makeRoom(alice, [bob], { name: 'Team' })).id;
    a = await open(alice);
    b = await open(bob);
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function open(user: TestUser): Promise<Page> {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 820 } });
    contexts.push(context);
    watchForeign(context, server, foreign);
    await signIn(context, server, user);
    return context.newPage();
  }

  const roomUrl = () => `${server.url}/rooms/${encodeURIComponent(roomId)}`;
  const messageWith = (page: Page, text: string) => page.getByTestId('message').filter({ hasText: text });
  const composer = (page: Page) => page.getByLabel('Message', { exact: true });

  async function send(page: Page, text: string): Promise<Locator> {
    await composer(page).fill(text);
    await composer(page).press('Enter');
    const msg = messageWith(page, text);
    await msg.and(page.locator(':not([data-pending])')).waitFor({ timeout: WAIT });
    return msg;
  }

  /** A message's actions: the hover toolbar and its "More" menu. */
  const act = (msg: Locator, action: MessageActionName) => messageAction(msg, action);

  it('counts a message unread until the other member opens the room', async () => {
    await a.goto(roomUrl());
    await b.goto(server.url + '/');
    await a.getByTestId('room-title').filter({ hasText: 'Team' }).waitFor({ timeout: WAIT });
    const msg = await send(a, 'hello team');
    await msg.getByTestId('unread-count').filter({ hasText: '1' }).waitFor({ timeout: WAIT });
    await shoot(a, 'features-unread');

    await b.getByTestId('room-link').filter({ hasText: 'Team' }).click({ timeout: WAIT });
    await messageWith(b, 'hello team').waitFor({ timeout: WAIT });
    await expect.poll(() => msg.getByTestId('unread-count').count(), { timeout: WAIT }).toBe(0);
  }, 60_000);

  it('toggles a reaction that the other member sees', async () => {
    const bobMsg = messageWith(b, 'hello team');
    await act(bobMsg, 'React');
    await shoot(b, 'features-picker');
    await b.getByRole('button', { name: 'React with 👍' }).click();
    const chip = messageWith(a, 'hello team').locator('[data-testid="reaction"][data-emoji="👍"]');
    await chip.waitFor({ timeout: WAIT });
    expect(await chip.innerText()).toContain('1');
    expect(await chip.getAttribute('title')).toContain('김민수');
    expect(await bobMsg.locator('[data-testid="reaction"][data-emoji="👍"]').getAttribute('aria-pressed')).toBe('true');

    // alice adds the same emoji from the chip: 2; bob takes his back: 1
    await chip.click();
    await expect.poll(() => bobMsg.locator('[data-testid="reaction"][data-emoji="👍"]').innerText(), { timeout: WAIT }).toContain('2');
    await bobMsg.locator('[data-testid="reaction"][data-emoji="👍"]').click();
    await expect.poll(() => chip.innerText(), { timeout: WAIT }).toContain('1');
    expect(await chip.getAttribute('aria-pressed')).toBe('true');
    await shoot(b, 'features-reactions');
  }, 60_000);

  it('shows the other member typing', async () => {
    await composer(b).pressSequentially('typing a thought', { delay: 20 });
    await a.getByTestId('typing').filter({ hasText: '김민수 is typing…' }).waitFor({ timeout: WAIT });
    expect(await b.getByTestId('typing').innerText()).toBe('');
    await composer(b).fill('');
  }, 60_000);

  it('autocompletes an @mention that is highlighted for the mentioned member', async () => {
    await composer(a).pressSequentially('@김');
    const suggest = a.getByTestId('mention-suggest');
    await suggest.getByText('김민수').waitFor({ timeout: WAIT });
    await shoot(a, 'features-mention-suggest');
    await composer(a).press('Enter');
    expect(await composer(a).inputValue()).toBe('@김민수 ');
    await composer(a).pressSequentially('please review');
    await composer(a).press('Enter');

    const seen = messageWith(b, 'please review');
    await seen.waitFor({ timeout: WAIT });
    await seen.getByTestId('mention').filter({ hasText: '@김민수' }).waitFor({ timeout: WAIT });
    expect(await seen.getAttribute('data-mentions-me')).toBe('true');
    expect(await messageWith(a, 'please review').getAttribute('data-mentions-me')).toBeNull();

    // the mentions filter (in the room menu) shows only messages that mention bob
    await b.getByTestId('room-menu').click();
    await b.getByTestId('menu-mentions').click();
    await expect.poll(() => b.getByTestId('message').count(), { timeout: WAIT }).toBe(1);
    await shoot(b, 'features-mention');
    await b.getByTestId('room-menu').click();
    await b.getByTestId('menu-mentions').click();
    await messageWith(b, 'hello team').waitFor({ timeout: WAIT });
  }, 60_000);

  it('pins a message as a notice banner for both and leaves a system line', async () => {
    await act(messageWith(a, 'hello team'), 'Pin');
    for (const page of [a, b]) {
      await page.getByTestId('pin-banner').filter({ hasText: 'hello team' }).waitFor({ timeout: WAIT });
      await page.locator('[data-testid="system-line"][data-type="pinned"]').filter({ hasText: 'Alice Kim pinned: hello team' }).waitFor({ timeout: WAIT });
    }
    await shoot(b, 'features-pin');
    // bob may not take down alice's notice (he neither pinned it nor administers the room); alice may, after a confirmation
    await b.getByTestId('pin-toggle').click();
    await b.getByTestId('pin-list').filter({ hasText: 'hello team' }).waitFor({ timeout: WAIT });
    expect(await b.getByTestId('pin-list').getByRole('button', { name: 'Take down' }).count()).toBe(0);
    await a.getByTestId('pin-toggle').click();
    await a.getByTestId('pin-list').getByRole('button', { name: 'Take down' }).click();
    await a.locator('[data-testid="confirm-dialog"][open]').getByRole('button', { name: 'Take down' }).click();
    for (const page of [a, b]) await expect.poll(() => page.getByTestId('pin-banner').count(), { timeout: WAIT }).toBe(0);
    await a.locator('[data-testid="system-line"][data-type="unpinned"]').filter({ hasText: 'Alice Kim unpinned: hello team' }).waitFor({ timeout: WAIT });
  }, 60_000);

  it('runs a poll: both vote, tallies show 2, the creator closes it and voting stops', async () => {
    await a.getByTestId('composer-plus').click();
    await a.getByTestId('menu-poll').click();
    const form = a.getByTestId('poll-create');
    await form.getByLabel('Question').fill('Lunch?');
    await form.getByLabel('Option 1').fill('Bibimbap');
    await form.getByLabel('Option 2').fill('Pizza');
    await form.getByRole('button', { name: 'Create poll' }).click();

    for (const page of [a, b]) {
      const poll = page.getByTestId('poll').filter({ hasText: 'Lunch?' });
      await poll.waitFor({ timeout: WAIT });
      await poll.getByText('Bibimbap').click();
      await poll.getByRole('button', { name: 'Vote' }).click();
    }
    for (const page of [a, b]) {
      const option = page.getByTestId('poll').filter({ hasText: 'Lunch?' }).locator('label').filter({ hasText: 'Bibimbap' });
      await expect.poll(() => option.getByTestId('tally').innerText(), { timeout: WAIT }).toBe('2');
    }
    await shoot(b, 'features-poll');

    // only the creator (or an admin) sees Close; afterwards nobody can vote
    expect(await b.getByTestId('poll').getByRole('button', { name: 'Close poll' }).count()).toBe(0);
    await a.getByTestId('poll').getByRole('button', { name: 'Close poll' }).click();
    for (const page of [a, b]) {
      const poll = page.getByTestId('poll').filter({ hasText: 'Lunch?' });
      await poll.and(page.locator('[data-closed="true"]')).waitFor({ timeout: WAIT });
      expect(await poll.getByRole('button', { name: /Vote/ }).count()).toBe(0);
      expect(await poll.locator('input').first().isDisabled()).toBe(true);
    }
    await shoot(a, 'features-poll-closed');
  }, 60_000);

  it('queues a vote made offline and shows the refusal when the poll closed meanwhile', async () => {
    await a.getByTestId('composer-plus').click();
    await a.getByTestId('menu-poll').click();
    const form = a.getByTestId('poll-create');
    await form.getByLabel('Question').fill('Offsite?');
    await form.getByLabel('Option 1').fill('Yes');
    await form.getByLabel('Option 2').fill('No');
    await form.getByLabel('Anonymous').check();
    await form.getByRole('button', { name: 'Create poll' }).click();
    const bobPoll = b.getByTestId('poll').filter({ hasText: 'Offsite?' });
    await bobPoll.waitFor({ timeout: WAIT });

    await b.context().setOffline(true);
    await bobPoll.getByText('Yes').click();
    await bobPoll.getByRole('button', { name: 'Vote' }).click();
    await bobPoll.getByText('Vote saved; it is sent when the connection returns.').waitFor({ timeout: WAIT });
    expect(await b.evaluate((id) => localStorage.getItem(`msgr:${id}:votes`), bob.id)).toContain('"optionIds"');

    await a.getByTestId('poll').filter({ hasText: 'Offsite?' }).getByRole('button', { name: 'Close poll' }).click();
    await a.getByTestId('poll').filter({ hasText: 'Offsite?' }).and(a.locator('[data-closed="true"]')).waitFor({ timeout: WAIT });
    await b.context().setOffline(false);
    await bobPoll.getByTestId('vote-refused').filter({ hasText: 'This poll is closed.' }).waitFor({ timeout: WAIT });
    expect(await bobPoll.getByTestId('vote-refused').innerText()).not.toContain('poll-closed');
    expect(await b.evaluate((id) => localStorage.getItem(`msgr:${id}:votes`), bob.id)).toBe('[]');
    await bobPoll.and(b.locator('[data-closed="true"]')).waitFor({ timeout: WAIT });
  }, 60_000);

  it('shows presence dots in the member list', async () => {
    await a.getByTestId('room-members-button').click();
    const bobRow = a.locator(`[data-testid="member"][data-user-id="${bob.id}"]`);
    await bobRow.locator('[data-testid="presence"][data-status="online"]').waitFor({ timeout: WAIT });
    await shoot(a, 'features-members');
  }, 60_000);

  it('posts a free-text notice; on a phone the banner and tools fit without sideways scroll', async () => {
    await b.setViewportSize({ width: 360, height: 740 });
    await b.getByTestId('composer-plus').click();
    await b.getByTestId('menu-notice').click();
    await b.getByLabel('Notice text').fill('Offsite on Friday, 10:00 at the lobby');
    await b.getByRole('button', { name: 'Post', exact: true }).click();
    for (const page of [a, b]) await page.getByTestId('pin-banner').filter({ hasText: 'Offsite on Friday' }).waitFor({ timeout: WAIT });
    await a.locator('[data-testid="system-line"][data-type="pinned"]').filter({ hasText: '김민수 pinned: Offsite on Friday' }).waitFor({ timeout: WAIT });
    expect(await b.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    await shoot(b, 'features-phone');
    await b.setViewportSize({ width: 1200, height: 820 });
  }, 60_000);

  it('ends with everything read by both (no counts left under messages)', async () => {
    for (const page of [a, b]) await expect.poll(() => page.getByTestId('unread-count').count(), { timeout: WAIT }).toBe(0);
    expect(foreign).toEqual([]);
  }, 60_000);
});
