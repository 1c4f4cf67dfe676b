/**
 * Keyboard shortcuts of the signed-in app, as pure functions so that the mapping is testable and
 * the help dialog lists the same keys the handler acts on.
 *   Alt+↑ / Alt+↓   previous / next chat in the (filtered) list
 *   Ctrl/Cmd+K      focus the room filter
 *   Ctrl/Cmd+Shift+F  search messages (in the open chat, when one is open)
 *   ? or Ctrl+/     this list
 *   Esc             cancel reply or edit (composer), close the drawer or a dialog
 */
export type ShortcutAction = 'prev-room' | 'next-room' | 'filter' | 'search' | 'help' | 'escape';

/** The keys of each action for display, in the order the help dialog lists them. */
export const SHORTCUT_KEYS: Record<ShortcutAction, string[][]> = {
  'prev-room': [['Alt', '↑']],
  'next-room': [['Alt', '↓']],
  filter: [['Ctrl', 'K'], ['⌘', 'K']],
  search: [['Ctrl', 'Shift', 'F'], ['⌘', 'Shift', 'F']],
  help: [['?'], ['Ctrl', '/']],
  escape: [['Esc']],
};

interface KeyLike {
  key: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  isComposing?: boolean;
}

/** `editable`: the event comes from a text field, where a bare "?" is text, not a command. */
export function shortcutFor(e: KeyLike, editable: boolean): ShortcutAction | null {
  if (e.isComposing) return null; // keys that build a Hangul syllable are never commands
  const mod = e.ctrlKey || e.metaKey;
  if (e.altKey && !mod && !e.shiftKey && e.key === 'ArrowUp') return 'prev-room';
  if (e.altKey && !mod && !e.shiftKey && e.key === 'ArrowDown') return 'next-room';
  if (mod && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') return 'filter';
  if (mod && !e.altKey && e.shiftKey && e.key.toLowerCase() === 'f') return 'search';
  if (mod && !e.altKey && e.key === '/') return 'help';
  if (!mod && !e.altKey && e.key === '?' && !editable) return 'help';
  if (e.key === 'Escape' && !mod && !e.altKey) return 'escape';
  return null;
}

/** The room `step` places away from `current` (wrapping); the first or last when none is open. */
export function neighbourRoom(ids: readonly string[], current: string | null, step: 1 | -1): string | null {
  if (ids.length === 0) return null;
  const at = current === null ? -1 : ids.indexOf(current);
  if (at === -1) return step === 1 ? ids[0] : ids[ids.length - 1];
  return ids[(at + step + ids.length) % ids.length];
}

export function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || target instanceof HTMLTextAreaElement || (target instanceof HTMLInputElement && !['button', 'checkbox', 'radio', 'submit'].includes(target.type));
}
