/**
 * Posts written by the user and not yet written into a segment document, kept per room in
 * localStorage (`msgr:<userId>:outbox:<roomId>`) and shown as pending in the timeline meanwhile.
 *
 * Every post goes through here: the pump writes them one at a time, oldest `createdAt` first (so in
 * writing order across rooms), each as soon as the `WriteBudget` allows, into the room's open
 * segment. A burst (a paste of 40 lines) therefore goes out completely and in order under the
 * server's rate limit instead of losing #31 to `rate-limited`. Offline the budget lets writes into
 * the documents up to the backlog allowance (they travel at the reconnect); beyond it they wait here.
 *
 * One tab pumps at a time (Web Locks, where available); the others see the lists change through the
 * `storage` event. Lifecycle: `use(userId, deps)` at sign-in, `use(null, null)` at sign-out.
 */
import type { Message } from '$lib/protocol/schema';
import type { WriteBudget } from './write-budget.ts';
import { outboxKey } from './keys.ts';
import { RoomLists } from './room-lists.svelte.ts';

/** `ok`: written; `later`: not possible now (no document yet); `gone`: the room is not ours any more. */
export type WriteResult = 'ok' | 'later' | 'gone';

export interface OutboxDeps {
  budget: WriteBudget;
  write(roomId: string, msg: Message): Promise<WriteResult>;
}

const RETRY_MS = 1000;

export class Outbox {
  private userId: string | null = null;
  private deps: OutboxDeps | null = null;
  private lists = new RoomLists<Message>(outboxKey);
  private pumping = false;
  /** Bumped by `use`: a pump of the previous user stops. */
  private epoch = 0;

  use(userId: string | null, deps: OutboxDeps | null): void {
    this.userId = userId;
    this.deps = deps;
    this.epoch++;
    this.lists.use(userId);
    if (deps && this.lists.rooms().length) this.pump();
  }

  of(roomId: string): Message[] {
    return this.lists.of(roomId);
  }

  /** Every queued post of the user (all rooms). */
  all(): Message[] {
    return this.lists.rooms().flatMap((r) => this.of(r));
  }

  post(roomId: string, msg: Message): void {
    this.lists.set(roomId, [...this.of(roomId), msg]);
    this.pump();
  }

  /** Changes a queued post (an edit) or removes it (`fn` returns null); false if it is not queued. */
  update(roomId: string, id: string, fn: (m: Message) => Message | null): boolean {
    const items = this.of(roomId);
    const i = items.findIndex((m) => m.id === id);
    if (i < 0) return false;
    const next = fn(items[i]);
    this.lists.set(roomId, next ? items.map((m, j) => (j === i ? next : m)) : items.filter((_, j) => j !== i));
    return true;
  }

  /** Another tab changed a room's list: read it again. */
  onStorage(e: StorageEvent): void {
    this.lists.onStorage(e);
  }

  private oldest(): { roomId: string; msg: Message } | null {
    let best: { roomId: string; msg: Message } | null = null;
    for (const roomId of this.lists.rooms()) {
      const msg = this.of(roomId)[0];
      if (msg && (!best || msg.createdAt < best.msg.createdAt)) best = { roomId, msg };
    }
    return best;
  }

  private pump(): void {
    if (this.pumping || !this.deps || !this.userId) return;
    this.pumping = true;
    const epoch = this.epoch;
    const run = () => this.drain(epoch);
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    (locks ? locks.request(`msgr:${this.userId}:outbox`, run) : run())
      .catch((e: unknown) => console.error(e))
      .finally(() => {
        this.pumping = false;
        // posted while the lock was being released
        if (epoch === this.epoch && this.oldest()) this.pump();
      });
  }

  private async drain(epoch: number): Promise<void> {
    const stop = () => epoch !== this.epoch || !this.deps;
    for (;;) {
      if (stop() || !this.oldest()) return;
      const deps = this.deps!;
      await deps.budget.whenAvailable(stop);
      // read again: the post may have been edited, removed or sent by another tab meanwhile
      const next = stop() ? null : this.oldest();
      if (!next) return;
      const result = await deps.write(next.roomId, next.msg);
      if (stop()) return;
      if (result === 'later') {
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      if (result === 'ok') deps.budget.take();
      this.update(next.roomId, next.msg.id, () => null);
    }
  }
}
