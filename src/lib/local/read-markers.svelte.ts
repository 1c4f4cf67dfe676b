/**
 * How far the user has read each room, kept on the device: the receipt `seq` of the newest message
 * seen while the room was open and visible (`msgr:<userId>:read:<roomId>`). Unread counts are
 * computed locally from it, offline too. Other tabs' progress arrives through the `storage` event.
 *
 * A room never opened on this device has no marker: its messages from before the user's first
 * sign-in here (`since`) count as read, so a new device does not greet the user with all of history.
 * The server's read position (the head's `reads`, moved by other devices) counts too: the higher
 * one wins. Advances are handed to `onAdvance` so that the server learns them (see Session).
 */
import { readKey, sinceKey, userPrefix } from './keys.ts';
import { readJson, writeJson } from './storage.ts';

export class ReadMarkers {
  private userId: string | null = null;
  /** Plain cache of stored values; `version` makes readers reactive to changes. */
  private cache = new Map<string, number | null>();
  private version = $state(0);
  /** First sign-in of this user on this device (ms). */
  since = $state(0);
  /** Told of every advance (to tell the server). */
  onAdvance: ((roomId: string, seq: number) => void) | null = null;

  use(userId: string | null): void {
    this.userId = userId;
    this.cache.clear();
    this.version++;
    if (!userId) return;
    let since = readJson<number>(sinceKey(userId));
    if (typeof since !== 'number') {
      since = Date.now();
      writeJson(sinceKey(userId), since);
    }
    this.since = since;
  }

  /** The read position of a room, or null when the room was never read on this device. */
  get(roomId: string): number | null {
    void this.version;
    if (!this.cache.has(roomId)) {
      const stored = this.userId ? readJson<number>(readKey(this.userId, roomId)) : null;
      this.cache.set(roomId, typeof stored === 'number' ? stored : null);
    }
    return this.cache.get(roomId) ?? null;
  }

  /** Whether a message of another user counts as unread; `serverMark`: the head's `reads[me]`. */
  isUnread(roomId: string, seq: number | null, at: number | null, serverMark: number | null = null): boolean {
    if (seq === null) return false;
    const local = this.get(roomId);
    const mark = local === null ? serverMark : Math.max(local, serverMark ?? 0);
    return mark === null ? (at ?? 0) > this.since : seq > mark;
  }

  advance(roomId: string, seq: number): void {
    if (!this.userId) return;
    const current = this.get(roomId);
    if (current !== null && current >= seq) return;
    this.cache.set(roomId, seq);
    writeJson(readKey(this.userId, roomId), seq);
    this.version++;
    this.onAdvance?.(roomId, seq);
  }

  /** Another tab wrote a marker: read it again. */
  onStorage(e: StorageEvent): void {
    if (!this.userId || !e.key?.startsWith(userPrefix(this.userId) + 'read:')) return;
    this.cache.delete(e.key.slice((userPrefix(this.userId) + 'read:').length));
    this.version++;
  }
}
