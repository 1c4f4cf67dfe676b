/**
 * `npm run screenshots`: renders the main screens from seeded data into screenshots/ (git-ignored),
 * at 1280×800 and 360×740, in Korean and English, and the chat list and room also in the dark theme.
 * A real server on port 0 with a temp data dir, the production build (rebuilt when stale), Debian's
 * Chromium; the workspace is tests/helpers/demo-seed.ts (Korean and English rooms with emoji, a
 * poll, a pinned notice, images and a PDF). Korean and emoji need Debian's fonts-nanum and
 * fonts-noto-color-emoji (scripts/install-chromium.sh installs them).
 *
 *   npm run screenshots                 # everything into screenshots/
 *   npm run screenshots -- --only room  # screens whose name contains "room"
 *   npm run screenshots -- --docs       # also refresh the README's copies in docs/screenshots/
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startServer } from '../tests/helpers/server.ts';
import { DemoClock, seedDemo, type Demo, type DemoUser } from '../tests/helpers/demo-seed.ts';
import { SCREENS, SIZES, settle, themeAndLocaleScript, type Locale, type ScreenData, type SizeName, type ThemeName } from '../tests/e2e/screens.ts';
import { loadSvelteKitHandler } from '../server/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = path.join(ROOT, 'screenshots');
const DOCS = path.join(ROOT, 'docs/screenshots');
const CHROMIUM = '/usr/bin/chromium';
// the launch flags of tests/e2e/browser-harness.ts
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** The README's copies: docs/screenshots/<name> ← screenshots/<shot>. */
const README_SHOTS: Record<string, string> = {
  'phone-ko-room.png': 'ko-phone-light-room.png',
  'desktop-en-room.png': 'en-desktop-light-room.png',
  'desktop-admin.png': 'en-desktop-light-admin.png',
};

/** Screens shown in the dark theme as well. */
const DARK = new Set(['chat-list', 'room', 'image-viewer']);

/** The admin dashboard's sections: the users list in every variant, the others on desktop. */
const ADMIN_EXTRA = new Set(['admin-rooms', 'admin-settings', 'admin-live', 'admin-audit']);

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const docs = args.includes('--docs');

function screenData(base: string, demo: Demo, locale: Locale): ScreenData {
  return locale === 'ko'
    ? {
        base,
        room: demo.ko,
        query: '워크숍',
        lastText: '저도 참석할게요',
        pollQuestion: '워크숍 점심 메뉴는 뭐가 좋을까요?',
        imageName: '제주 바다.png',
        pdfName: '2026년 3분기 실적 보고서_최종본.pdf',
        someUsername: 'emily_carter',
      }
    : {
        base,
        room: demo.en,
        query: 'release',
        lastText: 'Release notes attached',
        pollQuestion: 'When should we ship?',
        imageName: 'onboarding.png',
        pdfName: 'release-notes-v2.4.pdf',
        someUsername: 'sua_choi',
      };
}

async function main(): Promise<void> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/install-chromium.sh`);
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  const appHandler = await loadSvelteKitHandler(ROOT);
  if (!appHandler) throw new Error('build/handler.js is missing after ensure-build');
  const clock = new DemoClock();
  const server = await startServer({}, { appHandler, clock });
  let browser: Browser | null = null;
  const written: string[] = [];
  const problems: string[] = [];
  try {
    console.log('[screenshots] seeding a workspace…');
    const demo = await seedDemo(server, clock);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    fs.mkdirSync(OUT, { recursive: true });
    for (const locale of ['ko', 'en'] as Locale[]) {
      // Korean screens as 김지훈 (the server admin), English ones as Emily Carter; the dashboard as the admin
      const viewer: DemoUser = locale === 'ko' ? demo.admin : demo.emily;
      const data = screenData(server.url, demo, locale);
      for (const size of Object.keys(SIZES) as SizeName[]) {
        for (const theme of ['light', 'dark'] as ThemeName[]) {
          const screens = SCREENS.filter((s) => (theme === 'light' || DARK.has(s.name)) && (size === 'desktop' || !ADMIN_EXTRA.has(s.name)) && (!only || s.name.includes(only)));
          if (!screens.length) continue;
          const pages = new Map<string, Page>();
          const pageAs = async (who: 'anonymous' | 'viewer' | 'admin'): Promise<Page> => {
            const existing = pages.get(who);
            if (existing) return existing;
            const context = await browser!.newContext({ ...SIZES[size], deviceScaleFactor: size === 'phone' ? 2 : 1, locale: locale === 'ko' ? 'ko-KR' : 'en-US', timezoneId: 'Asia/Seoul' });
            await context.addInitScript(themeAndLocaleScript(theme, locale));
            const user = who === 'admin' ? demo.admin : who === 'viewer' ? viewer : null;
            if (user) await context.addCookies([{ name: 'session', value: encodeURIComponent(user.token), url: server.url, httpOnly: true, sameSite: 'Lax' }]);
            const page = await context.newPage();
            page.on('pageerror', (e) => problems.push(`${locale}/${size}/${theme}: page error ${e.message}`));
            pages.set(who, page);
            return page;
          };
          for (const screen of screens) {
            const page = await pageAs(screen.anonymous ? 'anonymous' : screen.admin ? 'admin' : 'viewer');
            const file = `${locale}-${size}-${theme}-${screen.name}.png`;
            try {
              await screen.open(page, data);
              await settle(page);
              await page.screenshot({ path: path.join(OUT, file) });
              written.push(file);
            } catch (e) {
              problems.push(`${file}: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
            }
          }
          for (const p of pages.values()) await p.context().close();
        }
      }
    }
  } finally {
    await browser?.close();
    await server.close();
  }
  console.log(`[screenshots] ${written.length} screenshots in ${path.relative(ROOT, OUT)}/`);
  if (docs) {
    fs.mkdirSync(DOCS, { recursive: true });
    for (const [name, shot] of Object.entries(README_SHOTS)) {
      const from = path.join(OUT, shot);
      if (!fs.existsSync(from)) {
        problems.push(`docs/screenshots/${name}: ${shot} was not rendered`);
        continue;
      }
      // small enough to commit: a palette PNG
      await sharp(from).png({ palette: true, quality: 90, effort: 10 }).toFile(path.join(DOCS, name));
      console.log(`[screenshots] docs/screenshots/${name} (${Math.round(fs.statSync(path.join(DOCS, name)).size / 1024)} KiB)`);
    }
  }
  if (problems.length) {
    console.error(`[screenshots] problems:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
