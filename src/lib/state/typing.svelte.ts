/**
 * Who is typing in one room, from the `{t:'typing', u}` stateless messages of its head document
 * (docs/PROTOCOL.md, "Presence and typing"). Each signal shows its sender for SHOW_MS; our own
 * signals are sent at most every SEND_EVERY_MS while the user types.
 */
import type { StatelessFromServer } from '$lib/protocol/schema';

const SHOW_MS = 4000;
const SEND_EVERY_MS = 2000;

export class TypingState {
  /** User ids typing now (not me), oldest first. */
  users = $state.raw<string[]>([]);

  private meId: string;
  private send: () => void;
  private until = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSent = 0;

  constructor(meId: string, send: () => void) {
    this.meId = meId;
    this.send = send;
  }

  /** The user typed a key in the composer. */
  noteTyping(now = Date.now()): void {
    if (now - this.lastSent < SEND_EVERY_MS) return;
    this.lastSent = now;
    this.send();
  }

  /** After sending a message: the next keystroke signals again at once. */
  reset(): void {
    this.lastSent = 0;
  }

  onStateless(msg: StatelessFromServer, now = Date.now()): void {
    if (msg.t !== 'typing' || typeof msg.u !== 'string' || msg.u === this.meId) return;
    this.until.set(msg.u, now + SHOW_MS);
    this.update(now);
  }

  /** Someone's message arrived: they stopped typing it. */
  stopped(userId: string): void {
    if (this.until.delete(userId)) this.update(Date.now());
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.until.clear();
  }

  private update(now: number): void {
    for (const [u, t] of this.until) if (t <= now) this.until.delete(u);
    const next = [...this.until.keys()];
    if (next.join() !== this.users.join()) this.users = next;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.until.size) {
      const soonest = Math.min(...this.until.values());
      this.timer = setTimeout(() => this.update(Date.now()), Math.max(50, soonest - now));
    }
  }
}
