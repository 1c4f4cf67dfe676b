/**
 * The signed-in user's rooms, from their read-only user document `user:<me>` (pushed by the server,
 * kept in IndexedDB, so the list shows offline and needs no polling). Each room has a
 * `RoomTracker` holding its head and open segment in the background for the preview, the unread
 * count and the order: pinned first, then newest activity (newest receipt time, or the time of an
 * own message still pending).
 *
 * Lifecycle: `start` at sign-in, `stop` at sign-out. A room that disappears from the user document
 * after a server sync (left, kicked, deleted) is reported through `onRemoved` so that its local
 * copies are deleted.
 */
import type { User } from '$lib/api/types.ts';
import type { CollabClient, DocRef } from '$lib/collab/collab-client.svelte.ts';
import type { ReadMarkers } from '$lib/local/read-markers.svelte.ts';
import type { HeadRetention } from '$lib/local/forget.ts';
import { USER_PROFILE, USER_ROOMS, userDocName, type RoomEntry } from '$lib/protocol/schema';
import { roomTitle } from '$lib/rooms/title.ts';
import { RoomTracker, type RoomPreview } from './room-tracker.svelte.ts';

export type { RoomPreview } from './room-tracker.svelte.ts';

/** One row of the room list. */
export interface RoomRow extends RoomEntry {
  lastActivityAt: number;
  openSegment: number;
  preview: RoomPreview | null;
  unread: number;
  /** More unread messages than counted may sit in older segments ("12+"). */
  unreadMore: boolean;
}

export interface RoomListDeps {
  collab: CollabClient;
  me: User;
  reads: ReadMarkers;
  notify(roomId: string, title: string, body: string): void;
  /** The room left the user document after a server sync: delete its local data. */
  onRemoved(roomId: string): void;
  /** The user document's profile changed (display name…). */
  onProfile(profile: Partial<User>): void;
  /** A room's synced head says what retention erased (the device forgets it too). */
  onRetention?(roomId: string, head: HeadRetention): void;
}

export class RoomList {
  entries = $state.raw<RoomEntry[]>([]);
  /** The list is known (local copy or server): "no rooms" may be shown. */
  loaded = $state(false);
  items = $derived(this.entries.map((e) => this.item(e)));
  sorted = $derived([...this.items].sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.lastActivityAt - a.lastActivityAt || a.id.localeCompare(b.id)));
  /** Total of unread messages over unmuted rooms. */
  unreadTotal = $derived(this.items.reduce((sum, r) => sum + (r.muted ? 0 : r.unread), 0));

  private deps: RoomListDeps | null = null;
  private userDoc: DocRef | null = null;
  private trackers = new Map<string, RoomTracker>();
  /** Removed optimistically (after leaving) until the user document agrees. */
  private hidden = new Set<string>();
  /** Room ids the user document has listed (to notice removals). */
  private known = new Set<string>();
  private queued = false;
  private localLoaded = false;

  start(deps: RoomListDeps): void {
    this.stop();
    this.deps = deps;
    const ref = deps.collab.acquire(userDocName(deps.me.id), { change: () => this.schedule(), synced: () => this.schedule() });
    this.userDoc = ref;
    void ref.whenLocal().then(() => {
      if (this.userDoc !== ref) return;
      this.localLoaded = true;
      this.schedule();
    });
  }

  stop(): void {
    this.userDoc?.release();
    this.userDoc = null;
    for (const t of this.trackers.values()) t.dispose();
    this.trackers.clear();
    this.hidden.clear();
    this.known.clear();
    this.entries = [];
    this.loaded = false;
    this.localLoaded = false;
    this.deps = null;
  }

  byId(id: string): RoomRow | undefined {
    return this.items.find((r) => r.id === id);
  }

  tracker(id: string): RoomTracker | undefined {
    return this.trackers.get(id);
  }

  /** After leaving: gone from the list at once; the user document confirms. */
  remove(id: string): void {
    this.hidden.add(id);
    this.schedule();
  }

  private item(e: RoomEntry): RoomRow {
    const t = this.trackers.get(e.id);
    return {
      ...e,
      lastActivityAt: Math.max(t?.lastAt ?? 0, e.joinedAt ?? 0),
      openSegment: t?.openSegment ?? 0,
      preview: t?.preview ?? null,
      unread: t?.unread ?? 0,
      unreadMore: t?.unreadMore ?? false,
    };
  }

  private schedule(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.read();
    });
  }

  private read(): void {
    const ref = this.userDoc;
    const deps = this.deps;
    if (!ref || !deps) return;
    const doc = ref.doc;
    const map = doc.getMap<RoomEntry>(USER_ROOMS);
    const next = [...map.values()].filter((e) => !this.hidden.has(e.id));
    const ids = new Set(next.map((e) => e.id));
    for (const id of this.hidden) if (!map.has(id)) this.hidden.delete(id);

    // Only the server removes rooms, so only a synced copy says a room is gone; a copy being reset
    // (refusal, another tab) is empty for a moment, and what it knew stays known until then.
    if (ref.synced) {
      for (const id of this.known) if (!map.has(id)) deps.onRemoved(id);
      this.known = new Set(map.keys());
    } else {
      for (const id of map.keys()) this.known.add(id);
    }
    for (const [id, tracker] of this.trackers) {
      if (ids.has(id)) continue;
      tracker.dispose();
      this.trackers.delete(id);
    }
    for (const e of next) {
      if (this.trackers.has(e.id)) continue;
      this.trackers.set(
        e.id,
        new RoomTracker(e.id, {
          collab: deps.collab,
          meId: deps.me.id,
          reads: deps.reads,
          isMuted: (id) => this.entries.find((x) => x.id === id)?.muted ?? false,
          title: (id) => {
            const entry = this.entries.find((x) => x.id === id);
            return entry ? roomTitle(entry) : '';
          },
          notify: deps.notify,
          onGone: (id) => this.remove(id),
          retention: deps.onRetention,
        }),
      );
    }
    this.entries = next;
    if (this.localLoaded && (next.length > 0 || ref.synced || !deps.collab.online)) this.loaded = true;

    const profile = Object.fromEntries(doc.getMap(USER_PROFILE).entries()) as Partial<User>;
    if (profile.id === deps.me.id) deps.onProfile(profile);
  }
}
