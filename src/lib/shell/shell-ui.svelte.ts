/**
 * What the app frame shows around the open chat: the room drawer (phones), the room filter and the
 * keyboard-shortcut help. Created once by the signed-in layout and read through context.
 * Lifecycle: the drawer closes on every navigation; focus goes back to whatever opened it.
 */
import { getContext, setContext, tick } from 'svelte';

export class ShellUi {
  /** Phones: the room list slides over the chat. Ignored on wide screens (the list is always shown). */
  drawerOpen = $state(false);
  helpOpen = $state(false);
  /** Text of the room filter in the sidebar. */
  filter = $state('');
  /** Bumped to ask the room filter to take focus (Ctrl/Cmd+K). */
  filterFocusRequest = $state(0);
  private opener: HTMLElement | null = null;

  openDrawer(opener: HTMLElement | null = null): void {
    this.opener = opener;
    this.drawerOpen = true;
  }

  closeDrawer({ restoreFocus = true } = {}): void {
    if (!this.drawerOpen) return;
    this.drawerOpen = false;
    const opener = this.opener;
    this.opener = null;
    // after the DOM update: until then the chat (holding the opener) is still inert
    if (restoreFocus && opener) void tick().then(() => opener.isConnected && opener.focus());
  }

  focusFilter(): void {
    this.filterFocusRequest++;
  }
}

const KEY = Symbol('shell-ui');
export const setShellUi = (s: ShellUi) => setContext(KEY, s);
export const getShellUi = () => getContext<ShellUi | undefined>(KEY);
