/**
 * Own messages the server refused (rate limit, permission, size…), kept per room in localStorage
 * (`msgr:<userId>:failed:<roomId>`) so that they survive the drop of the refused document's local
 * copy and reloads, and show in every tab until the user retries or discards them.
 */
import { failedKey } from './keys.ts';
import { RoomLists } from './room-lists.svelte.ts';

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
  private lists = new RoomLists<FailedMessage>(failedKey);

  use(userId: string | null): void {
    this.lists.use(userId);
  }

  of(roomId: string): FailedMessage[] {
    return this.lists.of(roomId);
  }

  add(roomId: string, items: FailedMessage[]): void {
    const current = this.of(roomId);
    const fresh = items.filter((i) => !current.some((c) => c.id === i.id));
    if (fresh.length) this.lists.set(roomId, [...current, ...fresh]);
  }

  remove(roomId: string, ids: Iterable<string>): void {
    const drop = new Set(ids);
    const current = this.of(roomId);
    if (current.some((f) => drop.has(f.id))) this.lists.set(roomId, current.filter((f) => !drop.has(f.id)));
  }

  /** Another tab changed a room's list: read it again. */
  onStorage(e: StorageEvent): void {
    this.lists.onStorage(e);
  }
}
