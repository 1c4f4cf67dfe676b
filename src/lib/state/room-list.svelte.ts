/**
 * The signed-in user's rooms, newest activity first. The server has no push channel for "you were
 * added to a room" yet, so the list is polled while the tab is visible (and on focus); the open
 * room reports its own activity through `touch` so that it moves up at once.
 */
import { api, ApiError } from '$lib/api/client.ts';
import type { RoomSummary } from '$lib/api/types.ts';
import { handleError } from '$lib/errors/handle-error.ts';

export class RoomList {
  items = $state.raw<RoomSummary[]>([]);
  loaded = $state(false);
  sorted = $derived([...this.items].sort((a, b) => b.lastActivityAt - a.lastActivityAt || a.id.localeCompare(b.id)));

  async refresh({ quiet = false } = {}): Promise<void> {
    try {
      this.items = (await api.rooms()).rooms;
      this.loaded = true;
    } catch (e) {
      // a poll that cannot reach the server stays silent; the room view shows the connection state
      if (!(quiet && e instanceof ApiError && e.code === 'network-error')) handleError(e);
    }
  }

  byId(id: string): RoomSummary | undefined {
    return this.items.find((r) => r.id === id);
  }

  touch(id: string, at: number): void {
    const room = this.byId(id);
    if (room && room.lastActivityAt < at) this.items = this.items.map((r) => (r.id === id ? { ...r, lastActivityAt: at } : r));
  }

  remove(id: string): void {
    this.items = this.items.filter((r) => r.id !== id);
  }

  clear(): void {
    this.items = [];
    this.loaded = false;
  }

  /** Polls while the tab is visible; returns the stop function. */
  startPolling(intervalMs: number): () => void {
    const tick = () => {
      if (document.visibilityState === 'visible') void this.refresh({ quiet: true });
    };
    const timer = setInterval(tick, intervalMs);
    document.addEventListener('visibilitychange', tick);
    window.addEventListener('focus', tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
      window.removeEventListener('focus', tick);
    };
  }
}
