/**
 * Who is signed in, the server's public config, and what lives only while signed in: the room
 * list, the tab's collaboration socket, read markers, the outbox of posts not yet written (paced by
 * the write budget under the server's published rate limits) and failed messages.
 *
 * Local first: after one online sign-in the user (`/api/me`) and the config are kept in
 * localStorage, so the app starts from them with no network and checks the session in the
 * background once it can (`401` → the logout flow). `begin` and `end` are the only ways in and
 * out; `terminate` is the full logout: other tabs are told, every document closes, the server
 * session ends (or is ended at the next online start), and the user's data leaves the device.
 *
 * Retention: the `RetentionKeeper` deletes the copies of segments the server dropped and has the
 * remaining ones erased; the user's unsent messages found in a dropped segment (by the keeper, or
 * by the segment's own `not-found`) go through the outbox again, into the open segment.
 */
import { api, ApiError } from '$lib/api/client.ts';
import type { PublicConfig, User } from '$lib/api/types.ts';
import { roomPath } from '$lib/actions/rooms.ts';
import { CollabClient } from '$lib/collab/collab-client.svelte.ts';
import { handleError, onSessionEnded, RefusalError } from '$lib/errors/handle-error.ts';
import { FailedMessages } from '$lib/local/failed-messages.svelte.ts';
import { clockKey, CONFIG_KEY, failedKey, LOGOUT_PENDING_KEY, ME_KEY, readKey, writesKey } from '$lib/local/keys.ts';
import { newMessageId, nextCreatedAt } from '$lib/messages/ids.ts';
import { TOKEN_REFUSALS } from '$lib/uploads/queue-state.ts';
import { UploadQueue } from '$lib/uploads/upload-queue.svelte.ts';
import { Outbox, type WriteResult } from '$lib/local/outbox.svelte.ts';
import { FALLBACK_LIMITS, WriteBudget, type WriteLimits } from '$lib/local/write-budget.ts';
import { ReadMarkers } from '$lib/local/read-markers.svelte.ts';
import { readJson, removeKey, writeJson } from '$lib/local/storage.ts';
import { TabChannel, type TabMessage } from '$lib/local/tabs.ts';
import { deleteRoomDatabases, finishPendingWipes, wipeUserData } from '$lib/local/wipe.ts';
import { RetentionKeeper } from '$lib/local/retention-keeper.ts';
import { toRepost } from '$lib/local/forget.ts';
import { HEAD_ROOM, headName, parseDocName, SEGMENT_MESSAGES, segmentName, type Message } from '$lib/protocol/schema';
import { Notifier } from './notifications.svelte.ts';
import { PresenceState } from './presence.svelte.ts';
import { VoteQueue } from '$lib/polls/vote-queue.svelte.ts';
import { RoomList } from './room-list.svelte.ts';

const READ_PUSH_DELAY_MS = 1500;
/** A start fetches the config and the socket connecting right after would fetch it again. */
const CONFIG_DEBOUNCE_MS = 2000;

export class Session {
  status = $state<'loading' | 'anonymous' | 'active'>('loading');
  user = $state.raw<User | null>(null);
  config = $state.raw<PublicConfig | null>(readJson<PublicConfig>(CONFIG_KEY));
  collab = $state.raw<CollabClient | null>(null);
  readonly rooms = new RoomList();
  readonly reads = new ReadMarkers();
  readonly failed = new FailedMessages();
  /** Posts not yet written into a document (paced); shown as pending. */
  readonly outbox = new Outbox();
  /** Files waiting to be uploaded and sent (IndexedDB, so they survive reloads and offline time). */
  readonly uploads = new UploadQueue();
  readonly notifier = new Notifier();
  /** Who is online (the `presence` document, one per tab). */
  readonly presence = new PresenceState();
  /** Poll votes waiting for the network. */
  readonly votes = new VoteQueue();
  /** The longest message the server accepts; null until the config is known (sending waits). */
  maxChars = $derived(this.config?.messages.maxChars ?? null);

  private tabs: TabChannel;
  private budget: WriteBudget | null = null;
  private keeper: RetentionKeeper | null = null;
  /** Segment documents known to be dropped: posts never go into them, whatever a stale head says. */
  private goneSegments = new Set<string>();
  private ending: Promise<void> | null = null;
  /** The cached user has not been confirmed by the server yet (we started offline). */
  private unverified = false;
  /** Read positions not yet told to the server (`PUT /api/rooms/:id/read`), sent in batches. */
  private readsToPush = new Map<string, number>();
  private readsTimer: ReturnType<typeof setTimeout> | null = null;
  private configFetchedAt = 0;

  constructor() {
    onSessionEnded(() => void this.terminate({ serverLogout: false }));
    this.reads.onAdvance = (roomId, seq) => this.queueReadPush(roomId, seq);
    this.tabs = new TabChannel((msg) => this.onTabMessage(msg));
    window.addEventListener('storage', this.onStorage);
    window.addEventListener('online', this.onOnline);
  }

  async load(): Promise<void> {
    void this.loadConfig();
    await this.finishPendingLogout();
    await finishPendingWipes();
    const cached = readJson<User>(ME_KEY);
    if (cached?.id) {
      this.begin(cached, { announce: false });
      this.unverified = true;
      void this.verify();
      return;
    }
    try {
      const { user } = await api.me();
      this.begin(user, { announce: false });
    } catch (e) {
      if (!(e instanceof ApiError && (e.status === 401 || e.code === 'network-error'))) handleError(e);
      this.status = 'anonymous';
    }
  }

  begin(user: User, { announce = true } = {}): void {
    if (this.collab && this.user?.id !== user.id) void this.end();
    writeJson(ME_KEY, user);
    removeKey(LOGOUT_PENDING_KEY); // a new server session replaced the one we could not end
    this.user = user;
    if (!this.collab || this.collab.closed) {
      this.reads.use(user.id);
      this.failed.use(user.id);
      this.votes.use(user.id);
      const collab = new CollabClient({
        url: CollabClient.urlFor(location),
        userId: user.id,
        onSessionEnded: (code) => handleError(new RefusalError(code)),
        onFailed: (name, message, code) => this.keepFailed(name, message, code),
        pace: () => this.pace(),
        // a refused token is the upload queue's to fix (a fresh token); the item shows what happens
        onRefusal: (code) => TOKEN_REFUSALS.has(code) || handleError(new RefusalError(code)),
        onConnected: () => void this.loadConfig(),
        onSegmentGone: (name, unsent) => this.segmentGone(name, unsent),
      });
      this.collab = collab;
      this.keeper = new RetentionKeeper({
        userId: user.id,
        collab,
        repost: (roomId, n, messages) => this.repost(roomId, n, messages),
        gone: (name) => this.goneSegments.add(name),
      });
      this.budget = new WriteBudget(writesKey(user.id), () => this.writeLimits(), () => collab.status === 'connected');
      this.outbox.use(user.id, { budget: this.budget, write: (roomId, msg) => this.writePost(collab, roomId, msg) });
      this.uploads.use({
        userId: user.id,
        config: () => this.config,
        newId: newMessageId,
        createdAt: () => nextCreatedAt(clockKey(user.id)),
        post: (roomId, msg) => this.outbox.post(roomId, msg),
        queued: (roomId, id) => this.outbox.of(roomId).some((m) => m.id === id),
        sessionEnded: (e) => handleError(e),
        refreshConfig: () => this.loadConfig({ force: true }),
      });
      this.rooms.start({
        collab,
        me: user,
        reads: this.reads,
        notify: (roomId, title, body) => this.notifier.show(roomId, title, body, roomPath(roomId)),
        onRemoved: (roomId) => void this.forgetRoom(user.id, roomId),
        onProfile: (p) => this.updateProfile(p),
        onRetention: (roomId, head) => this.keeper?.observe(roomId, head),
      });
      this.presence.start(collab);
      void this.votes.flush();
    }
    this.status = 'active';
    if (!this.config) void this.loadConfig();
    if (announce) this.tabs.post({ type: 'login', userId: user.id });
  }

  /** Local teardown: closes every document (IndexedDB connections too) and the socket. */
  async end(): Promise<void> {
    const collab = this.collab;
    this.collab = null;
    this.rooms.stop();
    this.keeper?.stop();
    this.keeper = null;
    this.goneSegments.clear();
    this.presence.stop();
    this.votes.use(null);
    this.outbox.use(null, null);
    this.uploads.use(null);
    this.budget = null;
    this.user = null;
    this.unverified = false;
    this.readsToPush.clear();
    if (this.readsTimer) clearTimeout(this.readsTimer);
    this.readsTimer = null;
    this.reads.use(null);
    this.failed.use(null);
    this.status = 'anonymous';
    await collab?.destroy();
  }

  /**
   * The logout flow (also when the server ends the session): tell other tabs, close everything,
   * end the server session, delete the user's IndexedDB databases, caches and localStorage keys.
   */
  terminate({ serverLogout }: { serverLogout: boolean }): Promise<void> {
    if (this.ending) return this.ending;
    const user = this.user;
    if (!user) return Promise.resolve();
    this.ending = (async () => {
      const known = this.collab?.openDatabaseNames ?? [];
      removeKey(ME_KEY); // a reload from now on starts signed out
      this.tabs.post({ type: 'logout', userId: user.id });
      await this.end();
      this.status = 'loading'; // until the data is gone: the login page must not race the wipe
      if (serverLogout) await this.serverLogout();
      await wipeUserData(user.id, known);
      this.status = 'anonymous';
    })().finally(() => (this.ending = null));
    return this.ending;
  }

  private async serverLogout(): Promise<void> {
    try {
      await api.logout();
    } catch (e) {
      // offline: the httpOnly cookie cannot be cleared from here; end it at the next online start
      if (e instanceof ApiError && e.code === 'network-error') writeJson(LOGOUT_PENDING_KEY, true);
      else if (!(e instanceof ApiError && e.status === 401)) handleError(e);
    }
  }

  private async finishPendingLogout(): Promise<void> {
    if (!readJson<boolean>(LOGOUT_PENDING_KEY)) return;
    try {
      await api.logout();
      removeKey(LOGOUT_PENDING_KEY);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) removeKey(LOGOUT_PENDING_KEY);
    }
  }

  /** Started from the cached user: ask the server whether the session still holds. */
  private async verify(): Promise<void> {
    const startedAs = this.user?.id;
    try {
      const { user } = await api.me();
      if (this.user?.id !== startedAs) return;
      this.unverified = false;
      if (user.id !== startedAs) {
        // the cookie belongs to someone else now (signed in elsewhere in this browser)
        await this.terminate({ serverLogout: false });
        this.begin(user, { announce: false });
        return;
      }
      this.updateProfile(user);
    } catch (e) {
      if (this.user?.id !== startedAs) return;
      if (e instanceof ApiError && e.status === 401) {
        this.unverified = false;
        handleError(new RefusalError('unauthorized')); // the funnel runs the logout flow
      }
      // network error: still offline; checked again on 'online'
    }
  }

  /**
   * `/api/config` at every start, on `online` and on every (re)connect of the socket: limits the
   * server changes apply without a rebuild or a reload (the service worker never caches `/api`).
   */
  private async loadConfig({ force = false } = {}): Promise<void> {
    if (!force && Date.now() - this.configFetchedAt < CONFIG_DEBOUNCE_MS) return;
    this.configFetchedAt = Date.now();
    try {
      const config = await api.config();
      this.config = config;
      writeJson(CONFIG_KEY, config);
    } catch (e) {
      this.configFetchedAt = 0;
      if (!(e instanceof ApiError && e.code === 'network-error')) handleError(e);
    }
  }

  updateProfile(p: Partial<User>): void {
    const user = this.user;
    if (!user) return;
    const next = { ...user };
    for (const key of ['username', 'displayName', 'statusMessage', 'isAdmin'] as const) {
      if (p[key] !== undefined) (next as Record<string, unknown>)[key] = p[key];
    }
    // a whole user (REST, the user document's profile) without `avatarAt` has no photo any more
    if (p.avatarAt !== undefined) next.avatarAt = p.avatarAt;
    else if (p.id === user.id) delete next.avatarAt;
    if (JSON.stringify(next) === JSON.stringify(user)) return;
    this.user = next;
    writeJson(ME_KEY, next);
  }

  /** The server refused one of the user's new messages: kept for retry, in its place. */
  private keepFailed(docName: string, m: Message, code: string): void {
    const parsed = parseDocName(docName);
    if (parsed?.kind !== 'segment') return;
    if (m.attachments?.length) return this.uploads.refused(parsed.roomId, m, code); // shown and retried there
    this.failed.add(parsed.roomId, [
      { id: m.id, text: m.text, createdAt: m.createdAt, code, ...(m.replyTo ? { replyTo: m.replyTo } : {}), ...(m.mentions ? { mentions: m.mentions } : {}) },
    ]);
  }

  /** The server's published limits (cached with the config, so known offline too). */
  private writeLimits(): WriteLimits {
    const r = this.config?.rateLimits;
    return { messages: r?.messages ?? FALLBACK_LIMITS.messages, backlog: r?.backlog ?? FALLBACK_LIMITS.backlog };
  }

  /** Waits for the write budget and takes one write (re-applied changes after a refusal). */
  private async pace(): Promise<void> {
    const budget = this.budget;
    if (!budget) return;
    await budget.whenAvailable(() => this.budget !== budget);
    budget.take();
  }

  /** A write made right away (edit, delete, reaction) still counts against the budget. */
  countWrite(): void {
    this.budget?.take();
  }

  /** Messages of the user not yet acknowledged by the server: queued, pending, or kept after a refusal. */
  unsentCount(): number {
    const ids = new Set([...this.outbox.all(), ...(this.collab?.unsentMessages() ?? [])].map((m) => m.id));
    return ids.size + this.uploads.pendingCount();
  }

  /** The outbox writes a post into the room's open segment (the head says which one). */
  private async writePost(collab: CollabClient, roomId: string, msg: Message): Promise<WriteResult> {
    if (collab.closed) return 'later';
    const head = collab.acquire(headName(roomId));
    try {
      await head.whenLocal();
      if (head.denied) return 'gone';
      const open = head.doc.getMap(HEAD_ROOM).get('openSegment');
      const target = segmentName(roomId, typeof open === 'number' ? open : 0);
      // the head on the device still names a segment the server dropped: wait for its new state
      if (this.goneSegments.has(target)) return 'later';
      const segment = collab.acquire(target);
      try {
        await segment.whenLocal();
        if (this.goneSegments.has(target)) return 'later';
        if (segment.denied || collab.closed) return segment.denied ? 'gone' : 'later';
        segment.doc.getMap<Message>(SEGMENT_MESSAGES).set(msg.id, msg);
        return 'ok';
      } finally {
        segment.release();
      }
    } finally {
      head.release();
    }
  }

  /** A segment answered `not-found`: never written into again; the user's unsent messages move on. */
  private segmentGone(docName: string, unsent: Message[]): void {
    const parsed = parseDocName(docName);
    if (parsed?.kind !== 'segment') return;
    this.goneSegments.add(docName);
    if (unsent.length) this.repost(parsed.roomId, parsed.n, unsent);
  }

  /**
   * Own messages the server never acknowledged, taken out of dropped segment `n`: posted again as
   * they were (same id and `createdAt`, so writing order holds and a second rescue of the same
   * message posts nothing) unless the outbox or another segment already has them.
   */
  private repost(roomId: string, n: number, messages: Message[]): void {
    const queued = new Set(this.outbox.of(roomId).map((m) => m.id));
    const elsewhere = new Set((this.rooms.tracker(roomId)?.timeline ?? []).filter((m) => m.segment !== n).map((m) => m.id));
    for (const m of toRepost(messages, (id) => queued.has(id) || elsewhere.has(id))) this.outbox.post(roomId, m);
  }

  /** The user is no longer in the room: its local copies and keys go. */
  private async forgetRoom(userId: string, roomId: string): Promise<void> {
    removeKey(readKey(userId, roomId));
    removeKey(failedKey(userId, roomId));
    this.uploads.forgetRoom(roomId);
    await deleteRoomDatabases(userId, roomId);
  }

  /** Other devices learn how far we read (the head's `reads`); offline, it waits for 'online'. */
  private queueReadPush(roomId: string, seq: number): void {
    this.readsToPush.set(roomId, Math.max(seq, this.readsToPush.get(roomId) ?? 0));
    if (this.readsTimer || !this.collab?.online) return;
    this.readsTimer = setTimeout(() => void this.pushReads(), READ_PUSH_DELAY_MS);
  }

  private async pushReads(): Promise<void> {
    this.readsTimer = null;
    const batch = [...this.readsToPush];
    this.readsToPush.clear();
    for (const [roomId, seq] of batch) {
      try {
        await api.markRead(roomId, seq);
      } catch (e) {
        if (e instanceof ApiError && e.code === 'network-error') {
          if (!this.readsToPush.has(roomId)) this.readsToPush.set(roomId, seq);
        }
        // anything else (room gone, session over) has its own path; a read position is not worth a notice
      }
    }
  }

  private onTabMessage(msg: TabMessage): void {
    if (msg.type === 'logout' && msg.userId === this.user?.id) {
      // the tab that logs out deletes the data; we close ours so that it can
      void this.end();
    } else if (msg.type === 'login' && this.status === 'anonymous') {
      void this.load();
    }
  }

  private onStorage = (e: StorageEvent) => {
    this.reads.onStorage(e);
    this.failed.onStorage(e);
    this.outbox.onStorage(e);
  };

  private onOnline = () => {
    if (this.unverified) void this.verify();
    void this.votes.flush();
    if (this.readsToPush.size && !this.readsTimer) this.readsTimer = setTimeout(() => void this.pushReads(), READ_PUSH_DELAY_MS);
    void this.loadConfig();
  };
}
