/**
 * One open room: its read-only head document and every segment document the user may read,
 * merged into one timeline (`mergeTimeline` of the protocol).
 *
 * Lifecycle: `start()` asks the API which segments are readable and opens them with the head;
 * segments that later appear in the head's `segments` map are opened too (one we may not read is
 * denied `not-found` and ignored). `destroy()` closes every document. A refused segment update
 * (rate limit, size…) is shown with its code, and that segment is reopened from a fresh Y.Doc,
 * because a refused change would otherwise stay in the local copy and be re-sent forever; own
 * messages lost that way are kept as `failed` so the user can retry them.
 */
import * as Y from 'yjs';
import { api, ApiError } from '$lib/api/client.ts';
import type { RoomDetail, User } from '$lib/api/types.ts';
import type { CollabClient, OpenDoc } from '$lib/collab/collab-client.svelte.ts';
import { endsSession, handleError, RefusalError } from '$lib/errors/handle-error.ts';
import { t } from '$lib/i18n/index.ts';
import { buildTimeline, type TimelineMessage } from '$lib/messages/timeline.ts';
import {
  HEAD_MEMBERS, HEAD_ROOM, HEAD_SEGMENTS, SEGMENT_MESSAGES, SEGMENT_RECEIPTS,
  headName, segmentName, type Member, type Message, type Receipt, type SegmentInfo,
} from '$lib/protocol/schema';

export interface RoomViewDeps {
  collab: CollabClient;
  me: User;
  /** The room disappeared for this user (left, kicked, deleted). */
  onGone(roomId: string): void;
  /** The newest accepted message's server time, to keep the room list in order. */
  onActivity(roomId: string, at: number): void;
}

export interface FailedMessage {
  id: string;
  text: string;
  replyTo?: string;
  code: string;
}

interface HeadRoom {
  name?: string;
  kind?: 'direct' | 'group';
  openSegment?: number;
}

/** Codes that mean "this room is not yours (any more)". */
const GONE = new Set(['not-a-member', 'not-found']);

export class RoomView {
  readonly roomId: string;
  private deps: RoomViewDeps;
  status = $state<'loading' | 'ready' | 'gone'>('loading');
  detail = $state.raw<RoomDetail | null>(null);
  head = $state.raw<HeadRoom>({});
  members = $state.raw<Record<string, Member>>({});
  messages = $state.raw<TimelineMessage[]>([]);
  failed = $state.raw<FailedMessage[]>([]);
  /** Every segment listed at start has synced once (or was denied): "no messages" is now true. */
  loaded = $state(false);

  /** Where new messages go: the head's word first, the API's until the head has synced. */
  openSegment = $derived(this.head.openSegment ?? this.detail?.openSegment ?? 0);
  memberCount = $derived(Object.keys(this.members).length || this.detail?.members.length || 0);
  title = $derived(this.computeTitle());

  /** Admins may delete anyone's message (a getter: reactive through the state it reads). */
  get isAdmin(): boolean {
    return (this.members[this.deps.me.id]?.role ?? this.detail?.role) === 'admin';
  }

  private headDoc: OpenDoc | null = null;
  private segments = new Map<number, OpenDoc>();
  private unreadable = new Set<number>();
  private knownUpTo = -1;
  private initial = new Set<number>();
  private recomputeQueued = false;
  private destroyed = false;

  constructor(roomId: string, deps: RoomViewDeps) {
    this.roomId = roomId;
    this.deps = deps;
  }

  async start(): Promise<void> {
    let room: RoomDetail;
    try {
      room = (await api.room(this.roomId)).room;
    } catch (e) {
      if (e instanceof ApiError && GONE.has(e.code)) this.gone();
      else handleError(e);
      return;
    }
    if (this.destroyed) return;
    this.detail = room;
    this.status = 'ready';
    this.knownUpTo = Math.max(room.openSegment, ...room.segments);
    this.openHead();
    this.initial = new Set(room.segments);
    this.loaded = this.initial.size === 0;
    for (const n of room.segments) this.openSegmentDoc(n, () => this.initialDone(n));
  }

  private initialDone(n: number): void {
    if (this.initial.delete(n) && this.initial.size === 0) this.loaded = true;
  }

  destroy(): void {
    this.destroyed = true;
    this.headDoc?.close();
    this.headDoc = null;
    for (const d of this.segments.values()) d.close();
    this.segments.clear();
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

  dropFailed(id: string): void {
    this.failed = this.failed.filter((f) => f.id !== id);
  }

  private computeTitle(): string {
    const kind = this.head.kind ?? this.detail?.kind;
    if (kind === 'group') return this.head.name || this.detail?.name || t.room.unnamedGroup;
    const other = Object.keys(this.members).find((id) => id !== this.deps.me.id) ?? this.detail?.members.find((m) => m.id !== this.deps.me.id)?.id;
    return other ? this.authorName(other) : t.room.directFallback;
  }

  // ---- documents ------------------------------------------------------------------------------

  private openHead(): void {
    const handle = this.deps.collab.open(headName(this.roomId), {
      onDenied: (code) => this.onHeadProblem(code),
      onRefused: (code) => this.onHeadProblem(code),
    });
    handle.doc.on('update', () => this.readHead(handle.doc));
    this.headDoc = handle;
  }

  /** False when the session is over: then nothing is reopened (the app returns to login). */
  private canReopen(code: string): boolean {
    return !this.destroyed && !endsSession(code) && !this.deps.collab.closed;
  }

  private onHeadProblem(code: string): void {
    if (this.destroyed) return;
    if (GONE.has(code)) return this.gone();
    handleError(new RefusalError(code));
    this.headDoc?.close(true);
    this.headDoc = null;
    if (this.canReopen(code)) this.openHead();
  }

  private readHead(doc: Y.Doc): void {
    const room = doc.getMap(HEAD_ROOM);
    this.head = { name: room.get('name') as string | undefined, kind: room.get('kind') as HeadRoom['kind'], openSegment: room.get('openSegment') as number | undefined };
    this.members = Object.fromEntries(doc.getMap<Member>(HEAD_MEMBERS).entries());
    if (this.members[this.deps.me.id] === undefined && Object.keys(this.members).length > 0) {
      queueMicrotask(() => this.gone()); // not from inside the document's own update event
      return;
    }
    for (const key of doc.getMap<SegmentInfo>(HEAD_SEGMENTS).keys()) {
      const n = Number(key);
      if (n > this.knownUpTo && !this.segments.has(n) && !this.unreadable.has(n)) this.openSegmentDoc(n);
    }
  }

  private openSegmentDoc(n: number, onSynced?: (doc: Y.Doc) => void): OpenDoc {
    this.knownUpTo = Math.max(this.knownUpTo, n);
    const handle: OpenDoc = this.deps.collab.open(segmentName(this.roomId, n), {
      onDenied: (code) => this.onSegmentDenied(n, handle, code),
      onRefused: (code) => this.onSegmentRefused(n, handle, code),
      onSynced: () => onSynced?.(handle.doc),
    });
    handle.doc.on('update', () => this.scheduleRecompute());
    this.segments.set(n, handle);
    return handle;
  }

  private onSegmentDenied(n: number, handle: OpenDoc, code: string): void {
    if (this.destroyed || this.segments.get(n) !== handle) return;
    handle.close(true);
    this.segments.delete(n);
    this.initialDone(n);
    if (code === 'not-found') {
      this.unreadable.add(n); // history from before we joined, or a dropped segment
    } else if (code === 'not-a-member') {
      this.gone();
    } else {
      handleError(new RefusalError(code));
    }
    this.scheduleRecompute();
  }

  private onSegmentRefused(n: number, handle: OpenDoc, code: string): void {
    if (this.destroyed || this.segments.get(n) !== handle) return;
    if (GONE.has(code)) return this.gone();
    handleError(new RefusalError(code));
    const unacked = this.ownUnacked(handle.doc);
    handle.close(true);
    this.segments.delete(n);
    this.initialDone(n);
    if (!this.canReopen(code)) return;
    this.openSegmentDoc(n, (fresh) => {
      const kept = fresh.getMap<Message>(SEGMENT_MESSAGES);
      const lost = unacked.filter((m) => !kept.has(m.id) && !this.failed.some((f) => f.id === m.id));
      if (lost.length) this.failed = [...this.failed, ...lost.map((m) => ({ id: m.id, text: m.text, replyTo: m.replyTo, code }))];
    });
    this.scheduleRecompute();
  }

  private ownUnacked(doc: Y.Doc): Message[] {
    const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
    return [...doc.getMap<Message>(SEGMENT_MESSAGES).values()].filter((m) => m.author === this.deps.me.id && !m.deleted && !receipts.has(m.id));
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
    const timeline = buildTimeline(
      [...this.segments].map(([n, d]) => ({ n, messages: d.doc.getMap<Message>(SEGMENT_MESSAGES).entries(), receipts: d.doc.getMap<Receipt>(SEGMENT_RECEIPTS) })),
    );
    this.messages = timeline;
    if (this.failed.length) {
      const present = new Set(timeline.map((m) => m.id));
      if (this.failed.some((f) => present.has(f.id))) this.failed = this.failed.filter((f) => !present.has(f.id));
    }
    let latest = 0;
    for (const m of timeline) if (m.at !== null && m.at > latest) latest = m.at;
    if (latest) this.deps.onActivity(this.roomId, latest);
  }
}
