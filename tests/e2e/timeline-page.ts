/** The chat timeline as a test reads and drives it in the page (shared by the e2e files). */
import type { Page } from 'playwright-core';
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
