/**
 * The timeline in Chromium against the production build (issue 11): opening at the first unread
 * message, the "new messages" button, KakaoTalk-style grouping (measured against an ungrouped
 * baseline of the same messages), safe links, reply-quote jumps, the long-press action sheet on a
 * touch phone, and copying. Conversations are written by real providers of each sender.
 */
import { describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { apiClient, makeRoom, type TestServer, type TestUser } from '../helpers/server.ts';
import { browserSuite, requireChromium, shoot, WAIT } from './browser-harness.ts';
import { CONVERSATION, seedConversation, type Line } from './timeline-seed.ts';

const hasChromium = requireChromium('tests/e2e/timeline.test.ts');

async function named(server: TestServer, username: string, displayName: string): Promise<TestUser> {
  const res = await apiClient(server.url)('POST', '/api/register', { username, password: 'password123', displayName });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, token: res.body.token, api: apiClient(server.url, res.body.token) };
}

/** The server's clock: moved forward by the test to write messages minutes apart. */
let offset = 0;
const clock = { now: () => Date.now() + offset };

const atBottom = (page: Page) => page.getByTestId('messages').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 80);
const scrollHeight = (page: Page) => page.getByTestId('messages').evaluate((el) => el.scrollHeight);
const messageWith = (page: Page, text: string) => page.getByTestId('message').filter({ hasText: text });
/** Whether the element's box is inside the message scroller's visible area. */
const onScreen = (page: Page, text: string) =>
  messageWith(page, text)
    .first()
    .evaluate((el) => {
      const box = el.getBoundingClientRect();
      const view = el.closest('[data-testid="messages"]')!.getBoundingClientRect();
      return box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
    });

describe.runIf(hasChromium)('the timeline', () => {
  const suite = browserSuite({ options: { clock } });
  let me: TestUser;
  let kim: TestUser;
  let choi: TestUser;
  let tag: string;
  const senders = () => [me, kim, choi];

  const setup = async () => {
    if (me) return;
    tag = Math.random().toString(36).slice(2, 7);
    me = await named(suite.server, `me_${tag}`, '이서준');
    kim = await named(suite.server, `kim_${tag}`, '김지현');
    choi = await named(suite.server, `choi_${tag}`, '최수아 (재택근무 중)');
  };
  const roomUrl = (id: string) => `${suite.server.url}/rooms/${encodeURIComponent(id)}`;

  it('opens a room at the first unread message under the divider; scrolled up, offers the new messages; at the bottom, stays there', async () => {
    await setup();
    const roomId = (await makeRoom(me, [kim, choi], { name: '읽음 표시' })).id;
    const old: Line[] = Array.from({ length: 8 }, (_, i) => ({ who: 1 + (i % 2), text: `지난 메시지 ${i + 1}` }));
    await seedConversation(suite.server, roomId, senders(), old);

    const context = await suite.newContext(me, { viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    await page.goto(roomUrl(roomId));
    await messageWith(page, '지난 메시지 8').waitFor({ timeout: WAIT });
    // the open room has read everything: go to the list, and let 25 arrive
    await page.waitForFunction((id) => Object.keys(localStorage).some((k) => k.endsWith(`read:${id}`)), roomId, { timeout: WAIT });
    await page.goto(suite.server.url + '/');
    const fresh: Line[] = Array.from({ length: 25 }, (_, i) => ({ who: 1 + (i % 2), text: `새 소식 ${i + 1}번째 메시지입니다` }));
    await seedConversation(suite.server, roomId, senders(), fresh);
    await page.getByTestId('room-unread').filter({ hasText: '25' }).waitFor({ timeout: WAIT });

    await page.getByTestId('room-link').filter({ hasText: '읽음 표시' }).click();
    const divider = page.getByTestId('unread-divider');
    await divider.waitFor({ timeout: WAIT });
    await page.waitForFunction(() => {
      const d = document.querySelector('[data-testid="unread-divider"]');
      const view = document.querySelector('[data-testid="messages"]');
      if (!d || !view) return false;
      const top = d.getBoundingClientRect().top - view.getBoundingClientRect().top;
      return top >= -2 && top < 60;
    }, null, { timeout: WAIT });
    // the divider sits right above the first of the 25, with the old ones above it
    expect(await divider.evaluate((el) => el.nextElementSibling?.textContent)).toContain('새 소식 1번째');
    expect(await divider.evaluate((el) => el.previousElementSibling?.textContent)).toContain('지난 메시지 8');
    expect(await atBottom(page)).toBe(false);
    expect(await onScreen(page, '새 소식 1번째')).toBe(true);
    await shoot(page, 'timeline-unread-divider');

    // the messages below the screen are offered; the button takes the reader to the bottom
    const jump = page.getByTestId('new-messages');
    await jump.filter({ hasText: /\d+ new message/ }).waitFor({ timeout: WAIT });
    await jump.click();
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="messages"]')!;
      return el.scrollHeight - el.scrollTop - el.clientHeight < 2;
    }, null, { timeout: WAIT });
    await jump.waitFor({ state: 'detached', timeout: WAIT });

    // at the bottom, a new message keeps the reader at the bottom (no button)
    await seedConversation(suite.server, roomId, senders(), [{ who: 1, text: '바닥에서 받은 메시지' }]);
    await messageWith(page, '바닥에서 받은 메시지').waitFor({ timeout: WAIT });
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="messages"]')!;
      return el.scrollHeight - el.scrollTop - el.clientHeight < 2;
    }, null, { timeout: WAIT });
    expect(await jump.count()).toBe(0);

    // scrolled up: two new messages do not move the view, and the button counts them
    await page.getByTestId('messages').evaluate((el) => el.scrollTo({ top: 0 }));
    await jump.waitFor({ timeout: WAIT }); // a plain "to the latest" while nothing is new
    const top = await page.getByTestId('messages').evaluate((el) => el.scrollTop);
    await seedConversation(suite.server, roomId, senders(), [
      { who: 2, text: '위에 있을 때 온 메시지 하나' },
      { who: 1, text: '위에 있을 때 온 메시지 둘' },
    ]);
    await jump.filter({ hasText: '2 new messages' }).waitFor({ timeout: WAIT });
    expect(await page.getByTestId('messages').evaluate((el) => el.scrollTop)).toBe(top);
    await shoot(page, 'timeline-new-messages');
    await jump.click();
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="messages"]')!;
      return el.scrollHeight - el.scrollTop - el.clientHeight < 2;
    }, null, { timeout: WAIT });
    expect(await onScreen(page, '위에 있을 때 온 메시지 둘')).toBe(true);
  });

  it('groups messages by sender and minute: names once, times once, well under the ungrouped height', async () => {
    await setup();
    const lines: Line[] = [...CONVERSATION, { who: 2, text: '처음 공지 다시 보니 좋네요', replyTo: 0 }];
    const grouped = (await makeRoom(me, [kim, choi], { name: '묶음' })).id;
    await seedConversation(suite.server, grouped, senders(), lines);
    // the same messages a minute and more apart: nothing can group
    const apart = (await makeRoom(me, [kim, choi], { name: '따로' })).id;
    await seedConversation(suite.server, apart, senders(), lines, [], () => (offset += 61_000));

    const context = await suite.newContext(me, { viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true, locale: 'ko-KR' });
    const page = await context.newPage();
    const measure = async (roomId: string) => {
      await page.goto(roomUrl(roomId));
      await messageWith(page, '처음 공지 다시 보니').waitFor({ timeout: WAIT });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="message"]').length === 41, null, { timeout: WAIT });
      return scrollHeight(page);
    };
    const baseline = await measure(apart);
    expect(await page.getByTestId('author').count()).toBe(lines.filter((l) => l.who !== 0).length);
    const height = await measure(grouped);
    console.log(`[timeline] 41 messages at 360x740: grouped ${height}px, ungrouped ${baseline}px (${Math.round((100 * height) / baseline)}%)`);
    expect(height).toBeLessThan(baseline * 0.9);
    await shoot(page, 'timeline-grouped-phone');

    // names once per group of another sender; times only on a group's last message
    const runs = lines.reduce((n, l, i) => n + (i === 0 || lines[i - 1].who !== l.who ? 1 : 0), 0);
    const otherRuns = lines.filter((l, i) => l.who !== 0 && (i === 0 || lines[i - 1].who !== l.who)).length;
    // a run may be split where a minute turns: at most a few more groups than runs
    const authors = await page.getByTestId('author').count();
    expect(authors).toBeGreaterThanOrEqual(otherRuns);
    expect(authors).toBeLessThanOrEqual(otherRuns + 3);
    const times = await page.locator('[data-testid="message"] time').count();
    expect(times).toBeGreaterThanOrEqual(runs);
    expect(times).toBeLessThanOrEqual(runs + 3);
    // "오후 6:24": no leading zero
    const first = await page.locator('[data-testid="message"] time').first().innerText();
    expect(first).toMatch(/^(오전|오후) (1[0-2]|[1-9]):[0-5]\d$/);
    // the unread count and time sit beside the bubble, on its last line, even for a long bubble
    const long = messageWith(page, '버튼 대비를 4.5:1');
    const [bubble, meta] = await Promise.all([long.locator('.bubble').boundingBox(), long.getByTestId('meta').boundingBox()]);
    expect(bubble!.height).toBeGreaterThan(40); // it wraps
    expect(meta!.y).toBeGreaterThanOrEqual(bubble!.y);
    expect(meta!.y + meta!.height).toBeLessThanOrEqual(bubble!.y + bubble!.height + 1);
    expect(meta!.x).toBeGreaterThanOrEqual(bubble!.x + bubble!.width - 1);
    // the avatar of "최수아 (재택근무 중)" is her family name
    expect(await messageWith(page, '넵 확인했습니다').getByTestId('avatar').innerText()).toBe('최');

    // tapping a reply quote goes to the original, high above, and flashes it
    await page.getByTestId('reply-quote').click();
    const original = messageWith(page, '오늘 배포 일정 공유드려요').first();
    await original.and(page.locator('[data-highlighted="true"]')).waitFor({ timeout: WAIT });
    expect(await onScreen(page, '오늘 배포 일정 공유드려요')).toBe(true);
  });

  it('links http(s), mailto and intranet hosts safely, shows them short, and copies the full URL', async () => {
    await setup();
    const roomId = (await makeRoom(me, [kim], { name: '링크' })).id;
    const long = 'https://wiki.corp/design/login-2026-renewal/final-v3?tab=comments&page=2';
    await seedConversation(suite.server, roomId, [me, kim], [
      { who: 1, text: `시안은 ${long} 에 있어요` },
      { who: 1, text: '사내 서버 http://10.0.0.5:8080 과 http://wiki.corp/ 참고, 문의는 mailto:help@corp.example' },
      { who: 1, text: 'javascript:alert(1) data:text/html,<script>alert(1)</script> <a href="javascript:alert(2)">click</a>' },
      { who: 1, text: `우리 서버 ${suite.server.url}/ 로 오세요` },
    ]);
    const context = await suite.newContext(me);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.url });
    const page = await context.newPage();
    await page.goto(roomUrl(roomId));
    await messageWith(page, 'javascript:alert(1)').waitFor({ timeout: WAIT });

    const link = messageWith(page, '시안은').getByTestId('link');
    expect(await link.getAttribute('href')).toBe(long);
    expect(await link.getAttribute('title')).toBe(long);
    expect(await link.getAttribute('target')).toBe('_blank');
    expect((await link.getAttribute('rel'))!.split(' ').sort()).toEqual(['noopener', 'noreferrer']);
    const shown = await link.innerText();
    expect(shown.length).toBeLessThanOrEqual(40);
    expect(shown).toContain('…');
    expect(await messageWith(page, '사내 서버').getByTestId('link').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href))).toEqual([
      'http://10.0.0.5:8080/',
      'http://wiki.corp/',
      'mailto:help@corp.example',
    ]);
    // nothing dangerous is ever a link, and markup stays text
    expect(await messageWith(page, 'javascript:alert(1)').getByTestId('link').count()).toBe(0);
    expect(await page.locator('a[href^="javascript:" i], a[href^="data:" i]').count()).toBe(0);
    expect(await page.locator('[data-testid="message"] script').count()).toBe(0);

    // a click opens a new tab (rel=noopener: it cannot reach back into ours)
    const [popup] = await Promise.all([context.waitForEvent('page', { timeout: WAIT }), messageWith(page, '우리 서버').getByTestId('link').click()]);
    expect(await popup.evaluate(() => window.opener)).toBeNull();
    await popup.close();

    // selecting the text and copying it carries the full URL, not the short one
    await messageWith(page, '시안은').locator('.text').evaluate((el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      getSelection()!.removeAllRanges();
      getSelection()!.addRange(range);
    });
    await page.keyboard.press('Control+c');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`시안은 ${long} 에 있어요`);

    // the "more" menu's copy puts the message's text on the clipboard
    await page.evaluate(() => navigator.clipboard.writeText(''));
    const msg = messageWith(page, '사내 서버');
    await msg.locator('.bubble').hover();
    await msg.getByRole('button', { name: 'More' }).click();
    await page.getByTestId('message-menu').getByRole('menuitem', { name: 'Copy text' }).click();
    await page.getByTestId('copied').filter({ hasText: 'Copied' }).waitFor({ timeout: WAIT });
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('사내 서버 http://10.0.0.5:8080 과 http://wiki.corp/ 참고, 문의는 mailto:help@corp.example');
  });

  it('on a touch phone, a long press opens the action sheet (reply, react, copy, edit, delete, pin)', async () => {
    await setup();
    const roomId = (await makeRoom(me, [kim], { name: '길게 누르기' })).id;
    await seedConversation(suite.server, roomId, [me, kim], [
      { who: 1, text: '길게 눌러 보세요' },
      { who: 0, text: '제가 쓴 메시지' },
    ]);
    const context: BrowserContext = await suite.newContext(me, { viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true, locale: 'ko-KR' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.url });
    const page = await context.newPage();
    await page.goto(roomUrl(roomId));
    const own = messageWith(page, '제가 쓴 메시지');
    await own.waitFor({ timeout: WAIT });
    // no hover toolbar on a touch screen
    expect(await own.getByTestId('message-toolbar').isVisible()).toBe(false);

    const longPress = async (text: string) => {
      const box = (await messageWith(page, text).locator('.bubble').boundingBox())!;
      const cdp = await context.newCDPSession(page);
      const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
      await page.getByTestId('message-sheet').getByRole('button', { name: '취소' }).waitFor({ timeout: WAIT });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      await cdp.detach();
    };
    await longPress('제가 쓴 메시지');
    const sheet = page.getByTestId('message-sheet');
    const labels = await sheet.locator('ul button').allInnerTexts();
    expect(labels.map((l) => l.trim())).toEqual(['답장', '복사', '수정', '공지로 등록', '삭제']);
    expect(await sheet.getByRole('button', { name: '👍 남기기' }).isVisible()).toBe(true);
    await shoot(page, 'timeline-sheet-phone');
    await sheet.getByRole('button', { name: '복사' }).click();
    await page.getByTestId('copied').filter({ hasText: '복사했어요' }).waitFor({ timeout: WAIT });
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('제가 쓴 메시지');
    expect(await sheet.isVisible()).toBe(false);

    // someone else's message: no edit (the room's admin may still delete it); a reaction from the sheet lands on it
    await longPress('길게 눌러 보세요');
    expect((await sheet.locator('ul button').allInnerTexts()).map((l) => l.trim())).toEqual(['답장', '복사', '공지로 등록', '삭제']);
    await sheet.getByRole('button', { name: '👍 남기기' }).click();
    await messageWith(page, '길게 눌러 보세요').getByTestId('reaction').filter({ hasText: '👍' }).waitFor({ timeout: WAIT });
    // the compact chip still has a finger-sized hit area
    const chip = messageWith(page, '길게 눌러 보세요').getByTestId('reaction');
    const chipBox = (await chip.boundingBox())!;
    expect(chipBox.height).toBeLessThan(30);
    // (where no bubble is: below the chip, and beside it, 20 px from its centre)
    const hits = await chip.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const [x, y] = [r.left + r.width / 2, r.top + r.height / 2];
      return [[x, y + 20], [r.left + r.width / 2 - 20, y]].map(([px, py]) => document.elementFromPoint(px, py) === el);
    });
    expect(chipBox.width).toBeLessThan(44);
    expect(hits).toEqual([true, true]);
  });
});
