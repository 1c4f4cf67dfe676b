/**
 * One open room, local first: its read-only head document and the segment documents it has
 * opened, merged into one timeline (`mergeTimeline` of the protocol). Everything renders from the
 * IndexedDB copies at once, online or not; the server's state merges in when it arrives.
 *
 * Lifecycle: `start()` opens the head and, once the open segment is known, that segment; older
 * segments open until a first screenful is there, and later one at a time as the reader scrolls up
 * (`loadOlder`), each kept in IndexedDB from then on. Segments that appear in the head later (a seal)
 * open too. A segment the server refuses to show (`not-found`: history from before we joined) is
 * skipped. `destroy()` releases every document (the room list keeps the head and open segment).
 *
 * Posts go through the user's `Outbox` (paced under the server's rate limit) and show as pending
 * from the moment they are written. Refusals are handled where the documents live (`SyncedDoc`);
 * a refused new message is kept in the `FailedMessages` store and shown here, in its place, for
 * retry until it reappears in the timeline.
 *
 * `reveal(messageId, segment)` brings one message into the rendered window (a search result, a
 * reply quote): the segments between the loaded ones and the message's open first, so that the
 * timeline stays contiguous. Messages received before the head's `retentionHorizon` are hidden at
 * once (the server has erased them; the deletions follow when the copies sync).
 */
import { api, ApiError } from '$lib/api/client.ts';
import type { RoomDetail, User } from '$lib/api/types.ts';
import type { CollabClient, DocRef } from '$lib/collab/collab-client.svelte.ts';
import { handleError } from '$lib/errors/handle-error.ts';
import { t } from '$lib/i18n/index.ts';
import type { FailedMessage, FailedMessages } from '$lib/local/failed-messages.svelte.ts';
import type { Outbox } from '$lib/local/outbox.svelte.ts';
import type { ReadMarkers } from '$lib/local/read-markers.svelte.ts';
import { segmentView } from '$lib/messages/segments.ts';
import { buildTimeline, withQueued, type TimelineMessage } from '$lib/messages/timeline.ts';
import { keptByRetention } from '$lib/local/forget.ts';
import { HEAD_MEMBERS, HEAD_ROOM, HEAD_SEGMENTS, SEGMENT_MESSAGES, headName, segmentName, type Member, type Message, type SegmentInfo } from '$lib/protocol/schema';
import type * as Y from 'yjs';

export interface RoomViewDeps {
  collab: CollabClient;
  me: User;
  failed: FailedMessages;
  outbox: Outbox;
  /** An edit, delete or reaction is written: it counts against the write budget. */
  countWrite(): void;
  reads: ReadMarkers;
  /** The room disappeared for this user (left, kicked, deleted). */
  onGone(roomId: string): void;
}

interface HeadRoom {
  name?: string;
  kind?: 'direct' | 'group';
  openSegment?: number;
  /** Messages received before it are erased by retention (0 or absent: none). */
  retentionHorizon?: number;
  /** The server erases messages older than this many days (0: kept forever). */
  retentionDays?: number;
}

/** Codes that mean "this room is not yours (any more)". */
const GONE = new Set(['not-a-member', 'not-found']);
/** Messages rendered at first, and added per step of scrolling up. */
const FIRST_PAGE = 60;
const PAGE = 50;
/** How long an older segment may take to arrive from the server before we stop waiting for it. */
const SEGMENT_WAIT_MS = 4000;
/** Messages shown below a revealed one (so that it does not sit at the very bottom of the window). */
const REVEAL_CONTEXT = 10;

export class RoomView {
  readonly roomId: string;
  private deps: RoomViewDeps;
  status = $state<'loading' | 'ready' | 'gone'>('loading');
  detail = $state.raw<RoomDetail | null>(null);
  head = $state.raw<HeadRoom>({});
  members = $state.raw<Record<string, Member>>({});
  /** Every message of the opened segments, in protocol order. */
  private docTimeline = $state.raw<TimelineMessage[]>([]);
  /** Posts not yet written into a document (the outbox), always pending. */
  queued = $derived.by(() => this.deps.outbox.of(this.roomId));
  /** The documents' timeline with the queued posts among the pending ones. */
  timeline = $derived.by(() => withQueued(this.docTimeline, this.queued, this.openSegment));
  /** How many of the newest messages are rendered (grows as the reader scrolls up). */
  limit = $state(FIRST_PAGE);
  messages = $derived(this.timeline.length > this.limit ? this.timeline.slice(-this.limit) : this.timeline);
  failed = $derived(this.computeFailed());
  /** The first screenful is in (from the device or the server): "no messages" is now true. */
  loaded = $state(false);
  loadingOlder = $state(false);
  /** Older segments exist that have not been opened. */
  private moreSegments = $state(false);
  hasOlder = $derived(this.timeline.length > this.limit || this.moreSegments);

  /** Where new messages go: the head's word first, the API's until the head is known. */
  openSegment = $derived(this.head.openSegment ?? this.detail?.openSegment ?? 0);
  memberCount = $derived(Object.keys(this.members).length || this.detail?.members.length || 0);
  title = $derived(this.computeTitle());

  /** Admins may delete anyone's message (a getter: reactive through the state it reads). */
  get isAdmin(): boolean {
    return (this.members[this.deps.me.id]?.role ?? this.detail?.role) === 'admin';
  }

  private headRef: DocRef | null = null;
  private segments = new Map<number, DocRef>();
  private unreadable = new Set<number>();
  /** Segments the server says we may read (from the API, online); null when unknown. */
  private readable: Set<number> | null = null;
  private lowestTried = Infinity;
  private recomputeQueued = false;
  private destroyed = false;
  private openKnown: (() => void) | null = null;
  private filledResolve: () => void = () => {};
  /** The first screenful has been opened (or the view was destroyed first). */
  private filled = new Promise<void>((resolve) => (this.filledResolve = resolve));

  constructor(roomId: string, deps: RoomViewDeps) {
    this.roomId = roomId;
    this.deps = deps;
  }

  async start(): Promise<void> {
    if (this.destroyed || this.headRef) return;
    try {
      await this.open();
    } catch (e) {
      // a sign-out closes the collab client under a view that is still opening: nothing to report
      if (!this.destroyed && !this.deps.collab.closed) handleError(e);
    }
  }

  private async open(): Promise<void> {
    document.addEventListener('visibilitychange', this.onVisibility);
    const head = this.deps.collab.acquire(headName(this.roomId), {
      change: () => this.scheduleRecompute(),
      synced: () => this.scheduleRecompute(),
      denied: (code) => this.onDenied(code),
    });
    this.headRef = head;
    void this.fetchDetail();
    await head.whenLocal();
    if (this.destroyed) return;
    this.readHead();
    if (this.status === 'loading') this.status = 'ready';
    await this.whenOpenSegmentKnown();
    if (this.destroyed) return;
    await this.fill();
  }

  destroy(): void {
    this.destroyed = true;
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.headRef?.release();
    this.headRef = null;
    for (const d of this.segments.values()) d.release();
    this.segments.clear();
    this.openKnown?.();
    this.filledResolve();
  }

  /** The live document of segment n, if open. */
  docOf(n: number): Y.Doc | null {
    return this.segments.get(n)?.doc ?? null;
  }

  /** The document new messages are written into (opened on demand). */
  writeTarget(): Y.Doc {
    const n = this.openSegment;
    return (this.segments.get(n) ?? this.openSegmentDoc(n)).doc;
  }

  authorName(userId: string): string {
    const m = this.members[userId] ?? this.detail?.members.find((x) => x.id === userId);
    return m ? m.displayName || m.username : t.room.unknownAuthor;
  }

  /** A new message goes out through the outbox (in writing order, paced). */
  post(msg: Message): void {
    this.deps.outbox.post(this.roomId, msg);
  }

  /** Edits or removes a post still in the outbox; false when it is not there (already written). */
  updateQueued(id: string, fn: (m: Message) => Message | null): boolean {
    return this.deps.outbox.update(this.roomId, id, fn);
  }

  countWrite(): void {
    this.deps.countWrite();
  }

  dropFailed(id: string): void {
    this.deps.failed.remove(this.roomId, [id]);
  }

  /**
   * Makes a message part of the rendered window, opening older segments down to `segment` (where
   * the search found it) or, without it, until the message turns up. False when it cannot be had:
   * deleted, erased, or offline with no local copy of its segment.
   */
  async reveal(messageId: string, segment: number | null = null): Promise<boolean> {
    await this.filled;
    if (this.destroyed) return false;
    const find = () => this.timeline.findIndex((m) => m.id === messageId);
    if (find() < 0) {
      this.loadingOlder = true;
      try {
        if (segment !== null) {
          // every segment between the opened ones and the message's, at once
          const wanted: number[] = [];
          for (let n = this.nextOlder(); n !== null && n >= segment; n = this.nextBelow(n)) wanted.push(n);
          await Promise.all(wanted.map((n) => this.openOlder(n)));
          this.recompute();
        }
        for (let n = this.nextOlder(); find() < 0 && n !== null && !this.destroyed; n = this.nextOlder()) {
          if (!(await this.openOlder(n))) break;
          this.recompute();
        }
      } finally {
        this.loadingOlder = false;
      }
    }
    const at = find();
    if (at < 0 || this.destroyed) return false;
    const fromEnd = this.timeline.length - at;
    if (this.limit < fromEnd + REVEAL_CONTEXT) this.limit = fromEnd + REVEAL_CONTEXT;
    return true;
  }

  /** Shows older messages: those already loaded first, then the next older segment. */
  async loadOlder(): Promise<void> {
    if (this.loadingOlder || this.destroyed) return;
    if (this.timeline.length > this.limit) {
      this.limit += PAGE;
      return;
    }
    this.loadingOlder = true;
    try {
      const before = this.timeline.length;
      // pass over segments that turn out empty or unreadable, one scroll step at a time
      for (let n = this.nextOlder(); n !== null && !this.destroyed; n = this.nextOlder()) {
        const got = await this.openOlder(n);
        this.recompute();
        if (this.timeline.length > before || !got) break;
      }
      this.limit += PAGE;
    } finally {
      this.loadingOlder = false;
    }
  }

  private computeTitle(): string {
    const kind = this.head.kind ?? this.detail?.kind;
    if (kind === 'group') return this.head.name || this.detail?.name || t.room.unnamedGroup;
    const other = Object.keys(this.members).find((id) => id !== this.deps.me.id) ?? this.detail?.members.find((m) => m.id !== this.deps.me.id)?.id;
    return other ? this.authorName(other) : t.room.directFallback;
  }

  private computeFailed(): FailedMessage[] {
    const present = new Set(this.timeline.map((m) => m.id));
    return this.deps.failed.of(this.roomId).filter((f) => !present.has(f.id));
  }

  // ---- documents ------------------------------------------------------------------------------

  /** Online only: which segments the server lets us read (saves asking for unreadable ones). */
  private async fetchDetail(): Promise<void> {
    if (!this.deps.collab.online) return;
    try {
      const room = (await api.room(this.roomId)).room;
      if (this.destroyed) return;
      this.detail = room;
      this.readable = new Set(room.segments);
      this.updateMore();
      this.openKnown?.();
    } catch (e) {
      if (e instanceof ApiError && GONE.has(e.code)) this.gone();
      else if (!(e instanceof ApiError && e.code === 'network-error')) handleError(e);
    }
  }

  /** The head (from the device or the server) or the API names the open segment; offline, 0. */
  private whenOpenSegmentKnown(): Promise<void> {
    if (this.head.openSegment !== undefined || this.detail || !this.deps.collab.online) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), SEGMENT_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        this.openKnown = null;
        resolve();
      };
      this.openKnown = done;
    });
  }

  /** The open segment, then older ones until the first screenful is there. */
  private async fill(): Promise<void> {
    const open = this.openSegment;
    const ref = this.segments.get(open) ?? this.openSegmentDoc(open);
    this.lowestTried = Math.min(this.lowestTried, open);
    this.updateMore();
    await ref.whenLocal();
    this.recompute();
    for (let n = this.nextOlder(); n !== null && !this.destroyed && this.timeline.length < FIRST_PAGE; n = this.nextOlder()) {
      if (!(await this.openOlder(n))) break;
      this.recompute();
    }
    if (!this.destroyed) this.loaded = true;
    this.filledResolve();
  }

  /** Known only once the first segment has been opened (before, "older" has no reference point). */
  private updateMore(): void {
    const more = this.lowestTried !== Infinity && this.nextOlder() !== null;
    if (more !== this.moreSegments) this.moreSegments = more;
  }

  /** The next segment below those tried that we may be able to read. */
  private nextOlder(): number | null {
    return this.nextBelow(Math.min(this.lowestTried, this.openSegment + 1));
  }

  /** The first segment below `top` that is not open and that we may be able to read. */
  private nextBelow(top: number): number | null {
    for (let n = top - 1; n >= 0; n--) {
      if (!this.unreadable.has(n) && !this.segments.has(n) && (this.readable === null || this.readable.has(n))) return n;
    }
    return null;
  }

  /**
   * Opens segment n and waits for its local copy, and online for the server's (bounded). False
   * when nothing could be had: offline with no local copy; the caller stops going further back.
   */
  private async openOlder(n: number): Promise<boolean> {
    this.lowestTried = Math.min(this.lowestTried, n);
    const ref = this.openSegmentDoc(n);
    await ref.whenLocal();
    const hasLocal = () => ref.doc.getMap(SEGMENT_MESSAGES).size > 0;
    if (!hasLocal() && this.deps.collab.online && !ref.synced && !ref.denied) await this.untilSynced(ref);
    this.updateMore();
    return ref.denied !== null || ref.synced || hasLocal();
  }

  private untilSynced(ref: DocRef): Promise<void> {
    return new Promise<void>((resolve) => {
      const started = Date.now();
      const tick = () => {
        if (this.destroyed || ref.synced || ref.denied || !this.deps.collab.online || Date.now() - started > SEGMENT_WAIT_MS) resolve();
        else setTimeout(tick, 50);
      };
      tick();
    });
  }

  private openSegmentDoc(n: number): DocRef {
    const existing = this.segments.get(n);
    if (existing) return existing;
    const ref = this.deps.collab.acquire(segmentName(this.roomId, n), {
      change: () => this.scheduleRecompute(),
      denied: (code) => this.onSegmentDenied(n, ref, code),
    });
    this.segments.set(n, ref);
    return ref;
  }

  private onDenied(code: string): void {
    if (this.destroyed) return;
    if (GONE.has(code)) this.gone();
  }

  private onSegmentDenied(n: number, ref: DocRef, code: string): void {
    if (this.destroyed || this.segments.get(n) !== ref) return;
    queueMicrotask(() => ref.release()); // not from inside the document's own event
    this.segments.delete(n);
    if (code === 'not-a-member') return this.gone();
    this.unreadable.add(n); // history from before we joined, or a dropped segment
    this.updateMore();
    this.scheduleRecompute();
  }

  private readHead(): void {
    const doc = this.headRef?.doc;
    if (!doc) return;
    const room = doc.getMap(HEAD_ROOM);
    const openSegment = room.get('openSegment') as number | undefined;
    const horizon = room.get('retentionHorizon');
    const days = room.get('retentionDays');
    this.head = {
      name: room.get('name') as string | undefined,
      kind: room.get('kind') as HeadRoom['kind'],
      openSegment,
      retentionHorizon: typeof horizon === 'number' ? horizon : 0,
      retentionDays: typeof days === 'number' ? days : 0,
    };
    this.members = Object.fromEntries(doc.getMap<Member>(HEAD_MEMBERS).entries());
    if (this.headRef?.synced && this.members[this.deps.me.id] === undefined && Object.keys(this.members).length > 0) {
      queueMicrotask(() => this.gone()); // not from inside the document's own update event
      return;
    }
    if (openSegment !== undefined) this.openKnown?.();
    // segments opened after we started (a seal): open them so new messages show
    if (this.loaded || this.segments.size > 0) {
      const highest = Math.max(-1, ...this.segments.keys());
      for (const key of doc.getMap<SegmentInfo>(HEAD_SEGMENTS).keys()) {
        const n = Number(key);
        if (n > highest && !this.unreadable.has(n)) this.openSegmentDoc(n);
      }
    }
    this.updateMore();
  }

  private gone(): void {
    if (this.status === 'gone') return;
    this.status = 'gone';
    this.destroy();
    this.deps.onGone(this.roomId);
  }

  // ---- timeline -------------------------------------------------------------------------------

  /** Bursts of updates (initial sync, receipts) are merged once per microtask. */
  private scheduleRecompute(): void {
    if (this.recomputeQueued) return;
    this.recomputeQueued = true;
    queueMicrotask(() => {
      this.recomputeQueued = false;
      if (!this.destroyed) this.recompute();
    });
  }

  private recompute(): void {
    this.readHead();
    if (this.destroyed) return;
    const horizon = this.head.retentionHorizon ?? 0;
    const timeline = buildTimeline([...this.segments].map(([n, ref]) => segmentView(n, ref.doc))).filter((m) => keptByRetention(m.at, horizon));
    this.docTimeline = timeline;
    const failed = this.deps.failed.of(this.roomId);
    if (failed.length) {
      const present = new Set(timeline.map((m) => m.id));
      this.deps.failed.remove(this.roomId, failed.filter((f) => present.has(f.id)).map((f) => f.id));
    }
    this.markRead();
  }

  private onVisibility = () => this.markRead();

  /** The room is open and visible: everything in it counts as read. */
  private markRead(): void {
    if (document.visibilityState !== 'visible') return;
    let max = 0;
    for (const m of this.timeline) if (m.seq !== null && m.seq > max) max = m.seq;
    if (max > 0) this.deps.reads.advance(this.roomId, max);
  }
}
