/**
 * Message search in the browser (issue 9 §3, §4): Debian's Chromium against the production build
 * and the real server, with small segments (10 messages) so that history spans many documents.
 * A new user finds "내일 회의록을 공유합니다" by typing 회의 (highlighted), never a message of a
 * room they are not in; a result opens the room at that message, loading the older segments it
 * lives in, and flashes it; offline, the same search runs over the device's copies and says so.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeRoom, makeUser, TEST_LIMITS, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { acked, connectSocket, messagesOf, openDoc, post, receiptsOf, type OpenDoc } from '../helpers/collab.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { browserSuite, requireChromium, shoot, WAIT } from './browser-harness.ts';
import { connection } from './timeline-page.ts';

const hasChromium = requireChromium('tests/e2e/search.test.ts');
const SEGMENT = 10;
const TARGET = '내일 회의록을 공유합니다';

/** Writes the texts as `user` into the room's open segment, following seals, each acknowledged. */
async function writeAll(server: TestServer, user: TestUser, roomId: string, texts: string[]): Promise<string[]> {
  const socket = connectSocket(server.wsUrl);
  const docs = new Map<number, OpenDoc>();
  const ids: string[] = [];
  try {
    for (let i = 0; i < texts.length; ) {
      const open = (await user.api('GET', `/api/rooms/${roomId}`)).body.room.openSegment as number;
      let d = docs.get(open);
      if (!d) docs.set(open, (d = await openDoc(socket, `room:${roomId}:${open}`, user.token)));
      const doc = d.doc;
      const batch = texts.slice(i, i + Math.max(1, SEGMENT - messagesOf(doc).size));
      const written = batch.map((t) => post(doc, user.id, t));
      await acked(d.provider);
      await waitFor(() => written.every((id) => receiptsOf(doc).get(id)), { message: 'receipts' });
      ids.push(...written);
      i += batch.length;
    }
  } finally {
    socket.destroy();
  }
  return ids;
}

const results = (page: Page) =>
  page.$$eval('[data-testid="search-result"]', (els) =>
    els.map((el) => ({
      roomId: (el as HTMLElement).dataset.roomId ?? '',
      messageId: (el as HTMLElement).dataset.messageId ?? '',
      text: el.querySelector('[data-testid="search-snippet"]')?.textContent ?? '',
      marks: [...el.querySelectorAll('mark')].map((m) => m.textContent),
    })),
  );

/** The message is rendered, flashed, and inside the visible part of the timeline. */
async function jumpedTo(page: Page, messageId: string): Promise<boolean> {
  return page.evaluate((id) => {
    const el = document.querySelector(`[data-message-id="${id}"][data-highlighted="true"]`);
    const scroller = document.querySelector('[data-testid="messages"]');
    if (!el || !scroller) return false;
    const a = el.getBoundingClientRect();
    const b = scroller.getBoundingClientRect();
    return a.top >= b.top && a.bottom <= b.bottom;
  }, messageId);
}

async function search(page: Page, q: string): Promise<void> {
  const box = page.getByTestId('search-input');
  await box.fill('');
  await box.pressSequentially(q, { delay: 30 });
}

describe.runIf(hasChromium)('message search', () => {
  const suite = browserSuite({
    config: { segmentMaxMessages: SEGMENT },
    options: { rateLimits: { ...TEST_LIMITS, messages: { ...RATE_LIMITS.messages, points: 1000 } } },
  });
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let otherRoom: string;
  let targetId: string;
  beforeAll(async () => {
    server = suite.server;
    [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
    const carol = await makeUser(server);
    await alice.api('PATCH', '/api/me', { displayName: '김앨리스' });
    roomId = (await makeRoom(alice, [bob], { name: '프로젝트팀' })).id;
    otherRoom = (await makeRoom(carol, [alice], { name: '비밀방' })).id;
    // the target early in segment 0, then 84 more: it sits eight segments below the open one
    const filler = Array.from({ length: 84 }, (_, i) => (i === 40 ? '회의 시간은 3시로 바꿨어요' : `진행 상황 ${i + 1}`));
    const ids = await writeAll(server, alice, roomId, ['안녕하세요, 이번 주 일정입니다', '월요일: 기획 검토', '화요일: 디자인 리뷰', TARGET, ...filler]);
    targetId = ids[3];
    // the same word in a room bob is not in
    await writeAll(server, carol, otherRoom, ['내일 회의록을 공유합니다 (비밀방)', '회의 자료 여기 있어요']);
  }, 60_000);

  it('finds 회의 in the rooms of the user only, highlighted, and opens the room at an old message', async () => {
    const context = await suite.newContext(bob, { viewport: { width: 1280, height: 800 }, locale: 'ko-KR' });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.getByTestId('room-link').first().waitFor({ timeout: WAIT });

    // the entry point in the sidebar, then typing (debounced: a few requests, not one per key)
    const requests: string[] = [];
    page.on('request', (r) => r.url().includes('/api/search') && requests.push(r.url()));
    await page.getByTestId('open-search').click();
    await page.getByTestId('search-input').waitFor({ timeout: WAIT });
    await shoot(page, 'search-empty-desktop-ko-light');
    await search(page, '회의');
    await waitFor(async () => (await results(page)).some((r) => r.messageId === targetId), { timeout: WAIT, message: 'the target found' });
    const found = await results(page);
    expect(found.map((r) => r.roomId).every((id) => id === roomId)).toBe(true);
    expect(found.some((r) => r.text.includes('비밀방'))).toBe(false);
    expect(found).toHaveLength(2);
    // whole words first: "회의 시간은…" ranks above "회의록을"
    expect(found[0].text).toContain('회의 시간은');
    expect(found.find((r) => r.messageId === targetId)).toMatchObject({ text: TARGET, marks: ['회의'] });
    expect(await page.getByTestId('search-total').textContent()).toContain('2');
    expect(requests.length).toBeLessThanOrEqual(2);
    await expect.poll(() => page.getByTestId('search-result-room').first().textContent()).toContain('프로젝트팀');
    await shoot(page, 'search-results-desktop-ko-light');

    // the result opens the room at the message, eight segments back, and flashes it
    await page.getByTestId('search-result').filter({ hasText: TARGET }).click();
    await page.waitForURL(/\/rooms\/.+\?m=/);
    await expect.poll(() => jumpedTo(page, targetId), { timeout: WAIT }).toBe(true);
    await shoot(page, 'search-jumped-desktop-ko-light');

    // back to the results: still there, no new request needed
    const before = requests.length;
    await page.goBack();
    await page.getByTestId('search-result').first().waitFor({ timeout: WAIT });
    expect(requests.length).toBe(before);

    // offline: the same search over the device's copies, and the view says so
    await context.setOffline(true);
    await expect.poll(() => connection(page), { timeout: WAIT }).toBe('offline');
    await search(page, '회의록');
    await expect.poll(() => page.getByTestId('search-notice').getAttribute('data-source'), { timeout: WAIT }).toBe('offline');
    await expect.poll(async () => (await results(page)).map((r) => r.messageId), { timeout: WAIT }).toEqual([targetId]);
    expect(await page.getByTestId('search-notice').textContent()).toContain('오프라인');
    expect((await results(page))[0].marks).toEqual(['회의록']);
    await shoot(page, 'search-offline-desktop-ko-light');

    // a message written offline is found too, marked as not sent yet
    await page.getByTestId('search-result').first().click();
    await expect.poll(() => jumpedTo(page, targetId), { timeout: WAIT }).toBe(true);
    const box = page.getByLabel('메시지', { exact: true });
    await box.fill('회의록 확인했습니다');
    await box.press('Enter');
    await page.getByTestId('message').filter({ hasText: '회의록 확인했습니다' }).waitFor({ timeout: WAIT });
    await page.goBack();
    await search(page, '회의록');
    await expect.poll(async () => (await results(page)).map((r) => r.text), { timeout: WAIT }).toEqual(['회의록 확인했습니다', TARGET]);
    expect(await page.getByTestId('search-result').first().textContent()).toContain('전송 대기');

    // online again: the server's results come back by themselves, the sent message among them
    await context.setOffline(false);
    await expect.poll(() => page.getByTestId('search-notice').count(), { timeout: 20_000 }).toBe(0);
    await expect.poll(async () => (await results(page)).map((r) => r.text).sort(), { timeout: 20_000 }).toEqual([TARGET, '회의록 확인했습니다'].sort());
  }, 90_000);

  it('opens from the room header with a room filter, filters by sender and files, and looks right everywhere', async () => {
    const looks = [
      { name: 'phone-en-dark', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'en-US', colorScheme: 'dark' as const },
      { name: 'phone-ko-light', viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'ko-KR', colorScheme: 'light' as const },
      { name: 'desktop-en-dark', viewport: { width: 1280, height: 800 }, locale: 'en-US', colorScheme: 'dark' as const },
    ];
    for (const { name, ...options } of looks) {
      const context = await suite.newContext(bob, options);
      const page = await context.newPage();
      await page.goto(`${server.url}/rooms/${roomId}`);
      await page.getByTestId('message').first().waitFor({ timeout: WAIT });
      // a wide screen has the header button; a phone has it in the room menu
      if (await page.getByTestId('room-search').isVisible()) await page.getByTestId('room-search').click();
      else {
        await page.getByTestId('room-menu').click();
        await page.getByTestId('menu-search').click();
      }
      await page.getByTestId('search-room-chip').waitFor({ timeout: WAIT });
      await search(page, '회의');
      // the two of alice, and the one bob wrote offline in the first test
      await expect.poll(async () => (await results(page)).length, { timeout: WAIT }).toBe(3);
      if (options.locale === 'en-US') expect(await page.getByTestId('search-total').textContent()).toBe('3 results');
      await expect.poll(async () => (await results(page)).every((r) => r.marks.length > 0)).toBe(true);
      await shoot(page, `search-results-${name}`);

      if (name === 'desktop-en-dark') {
        // a common word: the first page, then the next one as the reader scrolls down
        await search(page, '진행');
        await expect.poll(async () => (await results(page)).length, { timeout: WAIT }).toBe(20);
        expect(await page.getByTestId('search-total').textContent()).toBe('83 results');
        await page.getByTestId('search-result').last().scrollIntoViewIfNeeded();
        await expect.poll(async () => (await results(page)).length, { timeout: WAIT }).toBe(40);
        await search(page, '회의');
        await expect.poll(async () => (await results(page)).length, { timeout: WAIT }).toBe(3);
        // advanced filters go to POST /api/search/advanced: sender, files only, a day range
        await page.getByTestId('search-filters-button').click();
        await page.getByTestId('search-sender').selectOption(alice.id);
        await expect.poll(async () => (await results(page)).length, { timeout: WAIT }).toBe(2);
        await page.getByTestId('search-files').check();
        await page.getByTestId('search-none').waitFor({ timeout: WAIT });
        await page.getByTestId('search-files').uncheck();
        const today = await page.evaluate(() => new Date().toLocaleDateString('sv'));
        await page.getByTestId('search-from').fill(today);
        await page.getByTestId('search-to').fill(today);
        await expect.poll(async () => (await results(page)).length, { timeout: WAIT }).toBe(2);
        await shoot(page, `search-filters-${name}`);
      }

      await page.getByTestId('search-result').filter({ hasText: TARGET }).click();
      await expect.poll(() => jumpedTo(page, targetId), { timeout: WAIT }).toBe(true);
      await shoot(page, `search-jumped-${name}`);
      await context.close();
    }
  }, 80_000);
});
