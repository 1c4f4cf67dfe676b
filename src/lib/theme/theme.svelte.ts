/**
 * Light or dark look. Follows the system (`prefers-color-scheme`) until the user flips the switch;
 * the choice is kept in localStorage (a device preference that survives logout). The resolved theme
 * is written to `<html data-theme>` (app.css keys its colours on it) and to the theme-color metas
 * (browser bar and phone status bar). app.html applies a stored choice before the first paint.
 */
export type ThemeName = 'light' | 'dark';
export type ThemeChoice = ThemeName | 'system';

/** Same key as the early script in app.html. */
export const THEME_KEY = 'msgr.theme';
/** The panel colour of each theme: the browser bar blends into the app's headers. */
export const THEME_COLORS: Record<ThemeName, string> = { light: '#ffffff', dark: '#1c2028' };

const DARK_QUERY = '(prefers-color-scheme: dark)';

export class Theme {
  choice = $state<ThemeChoice>('system');
  systemDark = $state(false);
  resolved = $derived<ThemeName>(this.choice === 'system' ? (this.systemDark ? 'dark' : 'light') : this.choice);

  constructor() {
    if (typeof window === 'undefined') return;
    const media = window.matchMedia(DARK_QUERY);
    this.systemDark = media.matches;
    media.addEventListener('change', (e) => {
      this.systemDark = e.matches;
      this.apply();
    });
    let stored: string | null = null;
    try {
      stored = localStorage.getItem(THEME_KEY);
    } catch {
      // storage disabled: follow the system
    }
    if (stored === 'light' || stored === 'dark') this.choice = stored;
    this.apply();
  }

  set(choice: ThemeChoice): void {
    this.choice = choice;
    try {
      if (choice === 'system') localStorage.removeItem(THEME_KEY);
      else localStorage.setItem(THEME_KEY, choice);
    } catch {
      // not persisted; the switch still holds for this tab
    }
    this.apply();
  }

  /** The switch: the other theme than the one shown, kept from now on. */
  toggle(): void {
    this.set(this.resolved === 'dark' ? 'light' : 'dark');
  }

  private apply(): void {
    const root = document.documentElement;
    root.dataset.theme = this.resolved;
    root.style.colorScheme = this.resolved;
    for (const meta of document.querySelectorAll<HTMLMetaElement>('meta[name="theme-color"]')) {
      meta.content = THEME_COLORS[this.resolved];
    }
  }
}

/** One per tab. */
export const theme = new Theme();
