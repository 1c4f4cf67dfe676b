/**
 * The tab's language: Korean or English, switchable at runtime. The first choice comes from the
 * browser (`navigator.languages`, ko* → Korean); a choice the user makes is kept in localStorage
 * (a device preference: it is not user data and survives logout). `t` in `./index.ts` reads
 * `strings` through this object, so every component that renders a string re-renders on a switch.
 */
import { en, type Strings } from './en.ts';
import { ko } from './ko.ts';

export type Locale = 'en' | 'ko';
export const LOCALES: readonly Locale[] = ['ko', 'en'];
/** Same key as the early script in app.html, which sets `<html lang>` before the first paint. */
export const LOCALE_KEY = 'msgr.locale';

const TABLES: Record<Locale, Strings> = { en, ko };
/** Each language's own name, shown on the switch in that language. */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', ko: '한국어' };

const isLocale = (v: unknown): v is Locale => v === 'en' || v === 'ko';

/** The stored choice if any, else the first browser language we speak, else English. */
export function pickLocale(stored: string | null, languages: readonly string[]): Locale {
  if (isLocale(stored)) return stored;
  for (const lang of languages) {
    const base = lang.toLowerCase().split('-')[0];
    if (isLocale(base)) return base;
  }
  return 'en';
}

function readStored(): string | null {
  try {
    return localStorage.getItem(LOCALE_KEY);
  } catch {
    return null; // storage disabled (private mode, policy): the browser language decides
  }
}

export class I18n {
  locale = $state<Locale>('en');
  strings = $derived(TABLES[this.locale]);
  /** For Intl date and time formats: the browser's own regional variant when it matches. */
  dateLocale = $derived(this.regional(this.locale));

  constructor() {
    if (typeof window === 'undefined') return;
    this.locale = pickLocale(readStored(), navigator.languages?.length ? navigator.languages : [navigator.language]);
    document.documentElement.lang = this.locale;
  }

  set(locale: Locale): void {
    this.locale = locale;
    document.documentElement.lang = locale;
    try {
      localStorage.setItem(LOCALE_KEY, locale);
    } catch {
      // not persisted; the switch still holds for this tab
    }
  }

  toggle(): void {
    this.set(this.locale === 'ko' ? 'en' : 'ko');
  }

  private regional(locale: Locale): string {
    if (typeof navigator === 'undefined') return locale;
    return navigator.languages?.find((l) => l.toLowerCase().split('-')[0] === locale) ?? locale;
  }
}

/** One per tab, like the notice list: every component reads the same language. */
export const i18n = new I18n();
