/**
 * Logging out deletes the user's data on this device, unsent messages included. So when some of
 * the user's messages have not been acknowledged by the server (queued, pending, or kept after a
 * refusal), the logout asks first: cancel, wait for them to go (then log out), or log out anyway.
 * The count follows every document change (a receipt, a post written from the outbox).
 */
import type { Session } from './session.svelte.ts';

export class LogoutPrompt {
  open = $state(false);
  waiting = $state(false);
  unsent = $state(0);

  private session: Session;
  private logout: () => Promise<void>;
  private unwatch: (() => void) | null = null;
  private queued = false;

  constructor(session: Session, logout: () => Promise<void>) {
    this.session = session;
    this.logout = logout;
  }

  /** Logs out at once when nothing is unsent; otherwise asks. */
  request(): void {
    this.unsent = this.session.unsentCount();
    if (this.unsent === 0) return void this.logout();
    this.open = true;
    this.waiting = false;
    this.unwatch?.();
    this.unwatch = this.session.collab?.onChange(() => this.schedule()) ?? null;
  }

  cancel(): void {
    this.close();
  }

  /** Logs out as soon as the last unsent message is acknowledged. */
  wait(): void {
    this.waiting = true;
    this.recount();
  }

  anyway(): void {
    this.close();
    void this.logout();
  }

  private schedule(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      if (this.open) this.recount();
    });
  }

  private recount(): void {
    this.unsent = this.session.unsentCount();
    if (this.waiting && this.unsent === 0) this.anyway();
  }

  private close(): void {
    this.open = false;
    this.waiting = false;
    this.unwatch?.();
    this.unwatch = null;
  }
}
