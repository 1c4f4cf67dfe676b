/**
 * Strings for the UI: `t.section.key` (or `t.section.fn(arg)`) in the active language. `t` is a view
 * of `i18n.strings`, so reading it inside a component, `$derived` or `$effect` tracks the language
 * and the text follows a switch at once. Switch with `i18n.set('ko' | 'en')`.
 */
import type { Strings } from './en.ts';
import { i18n } from './locale.svelte.ts';

export { i18n, LOCALE_NAMES, type Locale } from './locale.svelte.ts';

export const t: Strings = new Proxy({} as Strings, {
  get: (_, key) => i18n.strings[key as keyof Strings],
});

/**
 * Human text for a server error code. The code itself is never shown: a code without a text of its
 * own gets the server's message in English and a plain "something went wrong" in Korean (the
 * server's messages are English developer text).
 */
export function errorText(code: string, fallback?: string): string {
  return t.errors[code] ?? (i18n.locale === 'en' ? fallback : undefined) ?? t.screens.unknownError;
}
