/**
 * The app's main screens, each reached the way a user reaches it: by URL, then by roles and visible
 * names (Korean or English), never by class names, so that the accessibility test and the screenshot
 * script keep working when a screen's markup is rewritten. Shared by tests/e2e/a11y.test.ts and
 * scripts/screenshots.ts; the data is tests/helpers/demo-seed.ts.
 */
import type { Locator, Page } from 'playwright-core';

export const WAIT = 15_000;

export type ThemeName = 'light' | 'dark';
export type Locale = 'ko' | 'en';

export const SIZES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true },
} as const;
export type SizeName = keyof typeof SIZES;

/** Same keys as app.html's early script and $lib/theme, $lib/i18n. */
export const themeAndLocaleScript = (theme: ThemeName, locale: Locale) => `
  try { localStorage.setItem('msgr.theme', ${JSON.stringify(theme)}); localStorage.setItem('msgr.locale', ${JSON.stringify(locale)}); } catch (e) {}
`;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A visible button, link, menu item or tab called `name` (inside `scope` when given). */
function action(scope: Page | Locator, name: RegExp): Locator {
  return scope
    .getByRole('button', { name })
    .or(scope.getByRole('link', { name }))
    .or(scope.getByRole('menuitem', { name }))
    .or(scope.getByRole('tab', { name }))
    .filter({ visible: true });
}

/** Menus that may hold a room's tools (the room header's "more" menu on a phone). */
const MENU = /^(more|menu|options|room menu|chat menu|더\s?보기|메뉴|옵션|채팅방 메뉴)/i;

/**
 * Clicks the action called `name` in `scope`; when none is visible (a phone header folds its tools
 * into a menu), opens the scope's menu first. Returns false when it is nowhere.
 */
export async function clickAction(page: Page, scope: Locator | Page, name: RegExp): Promise<boolean> {
  const direct = action(scope, name);
  if (await direct.count()) {
    await direct.first().click();
    return true;
  }
  const menus = scope.locator('[aria-haspopup="menu"], [aria-haspopup="true"]').filter({ visible: true }).or(action(scope, MENU));
  const count = await menus.count();
  for (let i = 0; i < count; i++) {
    await menus.nth(i).click();
    const item = action(page, name);
    try {
      await item.first().waitFor({ timeout: 1500 });
      await item.first().click();
      return true;
    } catch {
      await page.keyboard.press('Escape');
    }
  }
  return false;
}

/** Network quiet, fonts loaded and every image on screen decoded: what a screenshot should show. */
export async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
  await page.evaluate(async () => {
    await document.fonts.ready;
    await Promise.all(
      [...document.images].filter((i) => !i.complete && i.loading !== 'lazy').map((i) => new Promise((r) => ((i.onload = r), (i.onerror = r)))),
    );
    // let transitions (fade-ins, panels sliding) finish
    await Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {})));
  });
}

export interface RoomRef {
  id: string;
  name: string;
}

export interface ScreenData {
  base: string;
  /** the room with messages, reactions, a poll, a pin and files */
  room: RoomRef;
  /** a word that finds messages in that room */
  query: string;
  /** text of that room's last message, on screen when the room has loaded */
  lastText: string;
  /** the poll question of that room */
  pollQuestion: string;
  /** an image file name in that room */
  imageName: string;
  /** a PDF file name in that room */
  pdfName: string;
  /** a username that the admin dashboard lists */
  someUsername: string;
}

export interface Screen {
  name: string;
  /** needs a signed-out context */
  anonymous?: boolean;
  /** needs the server admin */
  admin?: boolean;
  open(page: Page, d: ScreenData): Promise<void>;
}

const roomRegion = (page: Page, d: ScreenData) => page.getByRole('region', { name: d.room.name }).or(page.getByRole('main')).first();

async function openRoom(page: Page, d: ScreenData): Promise<void> {
  await page.goto(`${d.base}/rooms/${encodeURIComponent(d.room.id)}`);
  await page.getByText(d.lastText).filter({ visible: true }).first().waitFor({ timeout: WAIT });
  await page.getByText(d.pollQuestion).filter({ visible: true }).first().waitFor({ timeout: WAIT });
}

async function openRoomTool(page: Page, d: ScreenData, name: RegExp, expect: (page: Page) => Locator): Promise<void> {
  await openRoom(page, d);
  if (!(await clickAction(page, roomRegion(page, d), name))) throw new Error(`no action ${name} in the room`);
  await expect(page).first().waitFor({ timeout: WAIT });
}

const MEMBERS = /^(members|멤버|대화 ?상대)/i;

export const SCREENS: Screen[] = [
  {
    name: 'login',
    anonymous: true,
    async open(page, d) {
      await page.goto(`${d.base}/login`);
      await page.getByRole('textbox').first().waitFor({ timeout: WAIT });
    },
  },
  {
    name: 'register',
    anonymous: true,
    async open(page, d) {
      await page.goto(`${d.base}/login`);
      await action(page, /(create one|sign up|register|새로 만들기|가입)/i).first().click();
      await page.getByRole('button', { name: /(create account|sign up|register|만들기|가입)/i }).first().waitFor({ timeout: WAIT });
    },
  },
  {
    name: 'chat-list',
    async open(page, d) {
      await page.goto(`${d.base}/`);
      await page.getByText(d.room.name).filter({ visible: true }).first().waitFor({ timeout: WAIT });
    },
  },
  { name: 'room', open: openRoom },
  {
    name: 'members',
    async open(page, d) {
      await openRoomTool(page, d, MEMBERS, (p) => p.getByRole('complementary', { name: MEMBERS }).or(p.getByRole('dialog', { name: MEMBERS })));
    },
  },
  {
    name: 'room-settings',
    async open(page, d) {
      await openRoom(page, d);
      const region = roomRegion(page, d);
      const settings = /^(chat settings|room settings|settings|채팅방? 설정|설정)/i;
      // a settings action of its own, else the settings inside the members panel (today's layout)
      if (!(await clickAction(page, region, settings)) && !(await clickAction(page, region, MEMBERS))) throw new Error('no room settings');
      await page.getByRole('heading', { name: settings }).or(page.getByRole('dialog', { name: settings })).first().waitFor({ timeout: WAIT });
    },
  },
  {
    name: 'files',
    async open(page, d) {
      await openRoomTool(page, d, /^(files|파일$|채팅방 파일)/i, (p) => p.getByRole('complementary', { name: /files|파일/i }).or(p.getByRole('dialog', { name: /files|파일/i })).getByRole('link', { name: new RegExp(escape(d.pdfName)) }).first());
    },
  },
  {
    name: 'image-viewer',
    async open(page, d) {
      await openRoom(page, d);
      const image = page.getByRole('link', { name: new RegExp(escape(d.imageName)) }).or(page.getByRole('button', { name: new RegExp(escape(d.imageName)) }));
      await image.first().click();
      await page.getByRole('dialog').filter({ visible: true }).first().waitFor({ timeout: WAIT });
    },
  },
  {
    name: 'search',
    async open(page, d) {
      await page.goto(`${d.base}/search?q=${encodeURIComponent(d.query)}`);
      await page.locator('mark').first().waitFor({ timeout: WAIT });
    },
  },
  {
    name: 'settings',
    async open(page, d) {
      await page.goto(`${d.base}/settings`);
      await page.getByTestId('settings').getByRole('heading', { level: 1 }).waitFor({ timeout: WAIT });
      await page.getByTestId('settings').getByRole('button').first().waitFor({ timeout: WAIT });
    },
  },
  {
    name: 'admin',
    admin: true,
    async open(page, d) {
      await page.goto(`${d.base}/admin`);
      await page.getByText(d.someUsername).filter({ visible: true }).first().waitFor({ timeout: WAIT });
    },
  },
  ...(['rooms', 'settings', 'live', 'health', 'audit'] as const).map(
    (section): Screen => ({
      name: `admin-${section}`,
      admin: true,
      async open(page, d) {
        await page.goto(`${d.base}/admin/${section}`);
        await page.getByRole('heading').first().waitFor({ timeout: WAIT });
        await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
      },
    }),
  ),
];
