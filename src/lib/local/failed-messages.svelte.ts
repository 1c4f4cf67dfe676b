/**
 * Own messages the server refused (rate limit, permission, size…), kept per room in localStorage
 * (`msgr:<userId>:failed:<roomId>`) so that they survive the drop of the refused document's local
 * copy and reloads, and show in every tab until the user retries or discards them.
 */
import { failedKey, userPrefix } from './keys.ts';
import { readJson, removeKey, writeJson } from './storage.ts';

export interface FailedMessage {
  id: string;
  text: string;
  replyTo?: string;
  mentions?: string[];
  /** The refusal code (`rate-limited`, `not-author`…). */
  code: string;
  createdAt: number;
}

export class FailedMessages {
  private userId: string | null = null;
  private cache = new Map<string, FailedMessage[]>();
  private version = $state(0);

  use(userId: string | null): void {
    this.userId = userId;
    this.cache.clear();
    this.version++;
  }

  of(roomId: string): FailedMessage[] {
    void this.version;
    let items = this.cache.get(roomId);
    if (!items) {
      const stored = this.userId ? readJson<FailedMessage[]>(failedKey(this.userId, roomId)) : null;
      items = Array.isArray(stored) ? stored : [];
      this.cache.set(roomId, items);
    }
    return items;
  }

  add(roomId: string, items: FailedMessage[]): void {
    const current = this.of(roomId);
    const fresh = items.filter((i) => !current.some((c) => c.id === i.id));
    if (fresh.length) this.set(roomId, [...current, ...fresh]);
  }

  remove(roomId: string, ids: Iterable<string>): void {
    const drop = new Set(ids);
    const current = this.of(roomId);
    if (current.some((f) => drop.has(f.id))) this.set(roomId, current.filter((f) => !drop.has(f.id)));
  }

  private set(roomId: string, items: FailedMessage[]): void {
    this.cache.set(roomId, items);
    this.version++;
    if (!this.userId) return;
    if (items.length) writeJson(failedKey(this.userId, roomId), items);
    else removeKey(failedKey(this.userId, roomId));
  }

  /** Another tab changed a room's list: read it again. */
  onStorage(e: StorageEvent): void {
    const prefix = this.userId ? userPrefix(this.userId) + 'failed:' : null;
    if (!prefix || !e.key?.startsWith(prefix)) return;
    this.cache.delete(e.key.slice(prefix.length));
    this.version++;
  }
}
