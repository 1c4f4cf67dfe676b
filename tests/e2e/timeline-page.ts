/** The chat timeline as a test reads and drives it in the page (shared by the e2e files). */
import type { Locator, Page } from 'playwright-core';
import { WAIT } from './browser-harness.ts';

export interface Rendered {
  id: string;
  text: string;
  pending: boolean;
}

/** The messages as rendered, top to bottom. */
export const rendered = (page: Page): Promise<Rendered[]> =>
  page.$$eval('[data-testid="message"]', (els) =>
    els.map((el) => ({
      id: (el as HTMLElement).dataset.messageId ?? '',
      text: el.querySelector('.text, .tombstone')?.textContent ?? '',
      pending: (el as HTMLElement).dataset.pending === 'true',
    })),
  );

export const connection = (page: Page) => page.getByTestId('connection').getAttribute('data-state');

/** Types a message and presses Enter. */
export async function write(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** Writes a message and waits until it is on screen (pending or not). */
export async function send(page: Page, text: string): Promise<void> {
  await write(page, text);
  await page.getByTestId('message').filter({ hasText: text }).first().waitFor({ timeout: WAIT });
}

/** The first visit installs the service worker; offline reloads need it to control the page. */
export async function openControlled(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: WAIT });
}

export type MessageActionName = 'Reply' | 'React' | 'Copy text' | 'Edit' | 'Pin' | 'Delete';

/** Holds a finger on the element until `until` is visible (a long press), then lifts it. */
export async function longPress(target: Locator, until: Locator): Promise<void> {
  const page = target.page();
  const box = await target.boundingBox();
  if (!box) throw new Error('long press: the target is not on screen');
  const cdp = await page.context().newCDPSession(page);
  const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
  await until.waitFor({ timeout: WAIT });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

/**
 * Runs a message action as a user would (English UI): on a touch screen from the long-press
 * action sheet, else from the hover toolbar (react, reply) or its "More" menu. Delete is confirmed.
 * React only opens the emoji choice (the picker, or the sheet's quick reactions).
 */
export async function messageAction(msg: Locator, action: MessageActionName): Promise<void> {
  const page = msg.page();
  const touch = await page.evaluate(() => matchMedia('(hover: none)').matches);
  if (touch) {
    const sheet = page.getByTestId('message-sheet');
    await longPress(msg.locator('.bubble'), sheet.getByRole('button', { name: 'Cancel', exact: true }));
    if (action !== 'React') await sheet.locator('ul').getByRole('button', { name: action, exact: true }).click();
  } else {
    await msg.locator('.bubble').hover();
    const toolbar = msg.getByTestId('message-toolbar');
    if (action === 'React' || action === 'Reply') await toolbar.getByRole('button', { name: action, exact: true }).click();
    else {
      await toolbar.getByRole('button', { name: 'More', exact: true }).click();
      await msg.getByTestId('message-menu').getByRole('menuitem', { name: action, exact: true }).click();
    }
  }
  if (action === 'Delete') await page.locator('[data-testid="confirm-dialog"][open]').getByRole('button', { name: 'Delete', exact: true }).click();
}
