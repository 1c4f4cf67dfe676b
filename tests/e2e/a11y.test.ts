/**
 * Accessibility of every main screen (issue 11 §15), in Debian's Chromium against the production
 * build and the real server with a seeded workspace (tests/helpers/demo-seed.ts): axe-core, injected
 * into the page, finds no serious or critical WCAG 2.x A/AA violation on login, register, the chat
 * list, a room with messages, reactions, a poll, a pin and files, its members and settings, the
 * files panel, the image viewer, search with results and the admin dashboard — in the light and the
 * dark theme, at 1280×800 and 360×740. Then the keyboard: Tab reaches the composer with a visible
 * focus ring on every stop, Enter sends, a dialog opened with the keyboard closes with Escape and
 * gives focus back to what opened it.
 *
 * Screens are found by URL, roles and visible names (tests/e2e/screens.ts), not class names.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import axe from 'axe-core';
import type { BrowserContext, Page } from 'playwright-core';
import { DemoClock, seedDemo, type Demo } from '../helpers/demo-seed.ts';
import { browserSuite, requireChromium, shoot } from './browser-harness.ts';
import { SCREENS, SIZES, WAIT, settle, themeAndLocaleScript, type ScreenData, type SizeName, type ThemeName } from './screens.ts';

const hasChromium = requireChromium('tests/e2e/a11y.test.ts');

/** What axe reports of one rule, trimmed to what a reader needs to fix it. */
interface Finding {
  rule: string;
  impact: string;
  help: string;
  nodes: { target: string; summary: string }[];
}

/** Runs axe-core in the page (WCAG 2.0–2.2 A and AA) and returns the serious and critical findings. */
async function audit(page: Page): Promise<Finding[]> {
  // evaluated through the DevTools protocol: the app's CSP (no inline scripts) does not apply
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axe.source);
  const results = await page.evaluate(async () => {
    const a = (window as unknown as { axe: typeof axe }).axe;
    // one-character text too (an unread count "1", an avatar's initial): axe only flags it as
    // "needs review" by default, and that is where the issue found 2.06:1
    // (configure replaces a check's options: start from its defaults)
    const defaults = (a as unknown as { _audit: { checks: Record<string, { options: object }> } })._audit.checks['color-contrast'].options;
    a.configure({ checks: [{ id: 'color-contrast', options: { ...defaults, ignoreLength: true } }] });
    const r = await a.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      rule: v.id,
      impact: v.impact ?? '',
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 300) })),
    }));
  });
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

const describeFindings = (findings: Finding[]) =>
  findings.map((f) => `${f.impact} ${f.rule}: ${f.help}\n${f.nodes.map((n) => `    ${n.target}\n      ${n.summary}`).join('\n')}`).join('\n');

describe.runIf(hasChromium)('accessibility of the main screens (axe-core, both themes, both sizes)', () => {
  const clock = new DemoClock();
  const suite = browserSuite({ options: { clock } });
  let demo: Demo;
  let data: ScreenData;

  beforeAll(async () => {
    demo = await seedDemo(suite.server, clock);
    data = {
      base: suite.server.url,
      room: demo.en,
      query: 'release',
      lastText: 'Release notes attached',
      pollQuestion: 'When should we ship?',
      imageName: 'onboarding.png',
      pdfName: 'release-notes-v2.4.pdf',
      someUsername: 'emily_carter',
    };
  }, 120_000);

  for (const theme of ['light', 'dark'] as ThemeName[]) {
    for (const size of Object.keys(SIZES) as SizeName[]) {
      describe(`${theme}, ${size}`, () => {
        const pages: { anonymous?: Page; admin?: Page } = {};
        const pageFor = async (anonymous: boolean): Promise<Page> => {
          const key = anonymous ? 'anonymous' : 'admin';
          if (pages[key]) return pages[key];
          let context: BrowserContext;
          if (anonymous) {
            context = await suite.browser.newContext({ ...SIZES[size], locale: 'en-US', serviceWorkers: 'block' });
          } else {
            // the admin (a member of the English room) sees every signed-in screen; no service worker
            // (its precache of the whole build in every new context kept the network busy for seconds)
            context = await suite.newContext(demo.admin, { ...SIZES[size], locale: 'en-US', serviceWorkers: 'block' });
          }
          await context.addInitScript(themeAndLocaleScript(theme, 'en'));
          const page = await context.newPage();
          page.on('pageerror', (e) => console.error('[browser]', e));
          pages[key] = page;
          return page;
        };

        for (const screen of SCREENS) {
          it(`${screen.name}: no serious or critical violation`, async () => {
            const page = await pageFor(!!screen.anonymous);
            await screen.open(page, data);
            await settle(page);
            expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
            const findings = await audit(page);
            if (findings.length) await shoot(page, `a11y-${screen.name}-${theme}-${size}`);
            expect(findings.length, `${screen.name} (${theme}, ${size}):\n${describeFindings(findings)}`).toBe(0);
          }, 60_000);
        }
      });
    }
  }

  it('flags the old 2.06:1 read count (the check can fail)', async () => {
    const context = await suite.newContext(demo.admin, { ...SIZES.desktop, locale: 'en-US' });
    await context.addInitScript(themeAndLocaleScript('light', 'en'));
    const page = await context.newPage();
    await SCREENS.find((s) => s.name === 'room')!.open(page, data);
    await settle(page);
    expect(await audit(page)).toEqual([]);
    // the colour the issue measured, #d9a400 on #f3f4f7, put back on the unread counts
    await page.evaluate(() => document.documentElement.style.setProperty('--unread', '#d9a400'));
    const findings = await audit(page);
    expect(findings.map((f) => f.rule)).toContain('color-contrast');
    expect(describeFindings(findings)).toContain('#d9a400');
    await context.close();
  }, 60_000);

  describe('keyboard', () => {
    let page: Page;
    beforeAll(async () => {
      const context = await suite.newContext(demo.admin, { ...SIZES.desktop, locale: 'en-US' });
      await context.addInitScript(themeAndLocaleScript('light', 'en'));
      page = await context.newPage();
    });

    /** The focused element and whether it shows a focus indicator (outline or ring). */
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return null;
        const s = getComputedStyle(el);
        const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow !== 'none' && s.boxShadow !== '');
        const label = el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40) ?? '';
        return { tag: el.tagName.toLowerCase(), label, ring, composer: el.matches('textarea, [contenteditable="true"]') && /message|메시지/i.test(el.getAttribute('aria-label') ?? (el as HTMLTextAreaElement).placeholder ?? '') };
      });

    it('reaches the composer with Tab, every stop visibly focused, and sends with Enter', async () => {
      await page.goto(`${data.base}/rooms/${encodeURIComponent(data.room.id)}`);
      await page.getByText(data.lastText).filter({ visible: true }).first().waitFor({ timeout: WAIT });
      await settle(page);
      const stops: { tag: string; label: string; ring: boolean }[] = [];
      let reached = false;
      for (let i = 0; i < 150 && !reached; i++) {
        await page.keyboard.press('Tab');
        const f = await focused();
        if (!f) continue;
        stops.push(f);
        reached = f.composer;
      }
      expect(reached, `Tab never reached the composer; stops: ${stops.map((s) => `${s.tag} "${s.label}"`).join(', ')}`).toBe(true);
      const invisible = stops.filter((s) => !s.ring);
      expect(invisible, 'focus stops without a visible focus indicator').toEqual([]);

      const text = `keyboard only ${Date.now().toString(36)}`;
      await page.keyboard.type(text);
      await page.keyboard.press('Enter');
      await page.getByTestId('message').filter({ hasText: text }).or(page.getByRole('listitem').filter({ hasText: text })).first().waitFor({ timeout: WAIT });
      // the composer is empty and still focused, ready for the next message
      expect((await focused())?.composer).toBe(true);
    });

    it('skips the chat list: the first Tab is the skip link, Enter on it puts the next Tab in the chat', async () => {
      await page.goto(`${data.base}/rooms/${encodeURIComponent(data.room.id)}`);
      await page.getByText(data.lastText).filter({ visible: true }).first().waitFor({ timeout: WAIT });
      await page.keyboard.press('Tab');
      const skip = page.getByTestId('skip-link');
      expect(await skip.evaluate((el) => el === document.activeElement)).toBe(true);
      // shown while focused (it sits off screen otherwise)
      const box = await skip.boundingBox();
      expect(box && box.y >= 0).toBe(true);
      await page.keyboard.press('Enter');
      await page.keyboard.press('Tab');
      const where = await page.evaluate(() => ({ inMain: !!document.activeElement?.closest('main'), inList: !!document.activeElement?.closest('nav, aside') }));
      expect(where).toEqual({ inMain: true, inList: false });
    });

    it('opens the image viewer with Enter, closes it with Escape and gives focus back', async () => {
      const link = page.getByRole('link', { name: new RegExp(data.imageName.replace('.', '\\.')) }).or(page.getByRole('button', { name: new RegExp(data.imageName.replace('.', '\\.')) })).first();
      await link.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog').filter({ visible: true }).first();
      await dialog.waitFor({ timeout: WAIT });
      // focus moved into the dialog
      expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden', timeout: WAIT });
      expect(await link.evaluate((el) => el === document.activeElement)).toBe(true);
    });

    it('opens the keyboard shortcuts help with ? and closes it with Escape', async () => {
      await page.locator('body').click({ position: { x: 5, y: 400 } }).catch(() => {});
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.keyboard.press('Shift+Slash');
      const dialog = page.getByRole('dialog').filter({ visible: true }).first();
      await dialog.waitFor({ timeout: WAIT });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden', timeout: WAIT });
    });

    for (const [panelName, name, title] of [['members', /^members/i, /members/i], ['files', /^files/i, /files/i]] as const) {
      it(`closes the ${panelName} panel with Escape pressed inside it`, async () => {
        const opener = page.getByRole('button', { name }).filter({ visible: true }).first();
        await opener.focus();
        await page.keyboard.press('Enter');
        const panel = page.getByRole('complementary', { name: title }).or(page.getByRole('dialog', { name: title })).first();
        await panel.waitFor({ timeout: WAIT });
        // into the panel with the keyboard: its first control
        const first = panel.getByRole('button').first();
        await first.focus();
        expect(await first.evaluate((el) => getComputedStyle(el).outlineStyle !== 'none' || getComputedStyle(el).boxShadow !== 'none')).toBe(true);
        await page.keyboard.press('Escape');
        await panel.waitFor({ state: 'hidden', timeout: WAIT });
      });
    }
  });
});
