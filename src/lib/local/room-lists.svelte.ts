/**
 * A list per room, kept in localStorage under `<prefix><roomId>` for the signed-in user, cached in
 * memory and reactive (`version`), and re-read when another tab changes it (`storage` event).
 * The failed-message list and the outbox are both such lists.
 */
import { keysWithPrefix, readJson, removeKey, writeJson } from './storage.ts';

export class RoomLists<T> {
  private userId: string | null = null;
  private cache = new Map<string, T[]>();
  private version = $state(0);

  /** `keyOf(userId, '')` is the prefix shared by every room's key. */
  constructor(private keyOf: (userId: string, roomId: string) => string) {}

  use(userId: string | null): void {
    this.userId = userId;
    this.cache.clear();
    this.version++;
  }

  get signedIn(): boolean {
    return this.userId !== null;
  }

  of(roomId: string): T[] {
    void this.version;
    let items = this.cache.get(roomId);
    if (!items) {
      const stored = this.userId ? readJson<T[]>(this.keyOf(this.userId, roomId)) : null;
      items = Array.isArray(stored) ? stored : [];
      this.cache.set(roomId, items);
    }
    return items;
  }

  set(roomId: string, items: T[]): void {
    this.cache.set(roomId, items);
    this.version++;
    if (!this.userId) return;
    if (items.length) writeJson(this.keyOf(this.userId, roomId), items);
    else removeKey(this.keyOf(this.userId, roomId));
  }

  /** Rooms with a non-empty list (stored, or in memory only). */
  rooms(): string[] {
    void this.version;
    if (!this.userId) return [];
    const prefix = this.keyOf(this.userId, '');
    const ids = new Set(keysWithPrefix(prefix).map((k) => k.slice(prefix.length)));
    for (const [id, items] of this.cache) if (items.length) ids.add(id);
    return [...ids];
  }

  /** Another tab changed a room's list: read it again. */
  onStorage(e: StorageEvent): void {
    const prefix = this.userId ? this.keyOf(this.userId, '') : null;
    if (!prefix || !e.key?.startsWith(prefix)) return;
    this.cache.delete(e.key.slice(prefix.length));
    this.version++;
  }
}
