/**
 * Desktop notifications through the browser's Notifications API (no outside push service): shown
 * for new messages from others while the tab is hidden, never for muted rooms. Permission is asked
 * only from a user gesture (`request`, behind a button), never on load.
 */
import { goto } from '$app/navigation';

export type NotifyPermission = NotificationPermission | 'unsupported';

const supported = () => typeof window !== 'undefined' && 'Notification' in window;

export class Notifier {
  permission = $state<NotifyPermission>(supported() ? Notification.permission : 'unsupported');

  /** Call from a click handler. */
  async request(): Promise<void> {
    if (!supported()) return;
    try {
      this.permission = await Notification.requestPermission();
    } catch {
      this.permission = Notification.permission;
    }
  }

  /** One notification per room at a time (`tag`): a burst updates it instead of stacking. */
  show(roomId: string, title: string, body: string, href: string): void {
    if (!supported() || Notification.permission !== 'granted' || document.visibilityState !== 'hidden') return;
    try {
      const n = new Notification(title, { body, tag: `msgr-room-${roomId}` });
      n.onclick = () => {
        window.focus();
        void goto(href);
        n.close();
      };
    } catch {
      // some mobile browsers only allow notifications from a service worker; nothing to show then
    }
  }
}
