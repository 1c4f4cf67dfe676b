/**
 * Session events between this browser's tabs over one BroadcastChannel (`msgr`): a logout in one
 * tab closes the others' documents (so that their IndexedDB databases can be deleted) and sends
 * them to the login page; a login lets tabs sitting on the login page follow.
 */
import { TAB_CHANNEL } from './keys.ts';

export type TabMessage = { type: 'logout'; userId: string } | { type: 'login'; userId: string };

export class TabChannel {
  private channel: BroadcastChannel | null = null;

  constructor(onMessage: (msg: TabMessage) => void) {
    if (typeof BroadcastChannel === 'undefined') return;
    this.channel = new BroadcastChannel(TAB_CHANNEL);
    this.channel.onmessage = (e: MessageEvent<TabMessage>) => onMessage(e.data);
  }

  post(msg: TabMessage): void {
    this.channel?.postMessage(msg);
  }

  close(): void {
    this.channel?.close();
    this.channel = null;
  }
}
