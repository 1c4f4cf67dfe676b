/**
 * One room as the room list sees it, computed locally: last activity, last-message preview and
 * unread count. It keeps the room's head and open segment attached in the background (and the
 * segment before, while the open one is still empty, so a fresh seal does not blank the preview).
 *
 * It is also where new messages from others are noticed for desktop notifications: only messages
 * that arrive after the room's first sync with the server (never the history a sync brings).
 *
 * Retention: messages received before the head's `retentionHorizon` are hidden at once, and what
 * the head says about retention (the segments it still lists, the horizon) is passed on
 * (`retention`) so that the device forgets the rest (`local/retention-keeper.ts`).
 */
import { systemText } from '$lib/messages/system-text.ts';
import type { CollabClient, DocRef } from '$lib/collab/collab-client.svelte.ts';
import type { ReadMarkers } from '$lib/local/read-markers.svelte.ts';
import { segmentView } from '$lib/messages/segments.ts';
import { buildTimeline, type TimelineMessage } from '$lib/messages/timeline.ts';
import { mentionsMe } from '$lib/mentions/mentions.ts';
import { messageExcerpt } from '$lib/files/summary.ts';
import { keptByRetention, type HeadRetention } from '$lib/local/forget.ts';
import { HEAD_MEMBERS, HEAD_READS, HEAD_ROOM, HEAD_SEGMENTS, SEGMENT_MESSAGES, headName, segmentName, type Member } from '$lib/protocol/schema';

export interface RoomPreview {
  authorId: string;
  authorName: string;
  own: boolean;
  text: string;
  deleted: boolean;
  /** Own message the server has not acknowledged yet. */
  pending: boolean;
}

export interface TrackerDeps {
  collab: CollabClient;
  meId: string;
  reads: ReadMarkers;
  /** Muted rooms never notify. */
  isMuted(roomId: string): boolean;
  title(roomId: string): string;
  notify(roomId: string, title: string, body: string): void;
  /** The head says this room is not ours (any more). */
  onGone(roomId: string): void;
  /** What a head synced with the server says about retention (on every change of it). */
  retention?(roomId: string, head: HeadRetention): void;
}

export class RoomTracker {
  readonly roomId: string;
  timeline = $state.raw<TimelineMessage[]>([]);
  members = $state.raw<Record<string, Member>>({});
  openSegment = $state<number | null>(null);
  /** The server's read position of the user (moved by any of their devices). */
  serverRead = $state<number | null>(null);
  /** Messages received before it are erased by retention (0: none). */
  horizon = $state(0);

  lastAt = $derived(this.timeline.reduce((max, m) => Math.max(max, m.at ?? m.createdAt), 0));
  preview = $derived(this.computePreview());
  unread = $derived(this.countUnread());
  /** Unread messages may also lie in older segments than those tracked: the count is a floor. */
  unreadMore = $derived(this.computeUnreadMore());
  /** The newest receipt seq seen (the read marker moves up to it). */
  maxSeq = $derived(this.timeline.reduce((max, m) => Math.max(max, m.seq ?? 0), 0));

  private deps: TrackerDeps;
  private head: DocRef;
  private segments = new Map<number, DocRef>();
  private queued = false;
  private disposed = false;
  /** Notifications: seq up to which messages are known; null until the first server sync. */
  private notifiedUpTo: number | null = null;

  constructor(roomId: string, deps: TrackerDeps) {
    this.roomId = roomId;
    this.deps = deps;
    this.head = deps.collab.acquire(headName(roomId), {
      change: () => this.schedule(),
      synced: () => this.schedule(),
      denied: (code) => {
        if (code === 'not-found' || code === 'not-a-member') deps.onGone(roomId);
      },
    });
    // a document a room view opened first has loaded already: no change event will say so
    void this.head.whenLocal().then(() => this.schedule());
  }

  dispose(): void {
    this.disposed = true;
    this.head.release();
    for (const ref of this.segments.values()) ref.release();
    this.segments.clear();
  }

  private schedule(): void {
    if (this.queued || this.disposed) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      if (!this.disposed) this.recompute();
    });
  }

  private recompute(): void {
    const head = this.head.doc;
    const open = head.getMap(HEAD_ROOM).get('openSegment');
    this.openSegment = typeof open === 'number' ? open : null;
    this.members = Object.fromEntries(head.getMap<Member>(HEAD_MEMBERS).entries());
    const read = head.getMap<number>(HEAD_READS).get(this.deps.meId);
    this.serverRead = typeof read === 'number' ? read : null;
    const horizon = head.getMap(HEAD_ROOM).get('retentionHorizon');
    this.horizon = typeof horizon === 'number' ? horizon : 0;
    if (this.head.synced) this.deps.retention?.(this.roomId, { segments: [...head.getMap(HEAD_SEGMENTS).keys()].map(Number), horizon: this.horizon });
    this.attachSegments();
    const timeline = buildTimeline([...this.segments].map(([n, ref]) => segmentView(n, ref.doc))).filter((m) => keptByRetention(m.at, this.horizon));
    this.timeline = timeline;
    this.checkNotifications(timeline);
  }

  /** The open segment, and the one before while the open one has no message yet. */
  private attachSegments(): void {
    const open = this.openSegment;
    const want = new Set<number>();
    if (open !== null) {
      want.add(open);
      const current = this.segments.get(open);
      if (open > 0 && (!current || current.doc.getMap(SEGMENT_MESSAGES).size === 0)) want.add(open - 1);
    }
    for (const [n, ref] of this.segments) {
      if (!want.has(n)) {
        ref.release();
        this.segments.delete(n);
      }
    }
    for (const n of want) {
      if (this.segments.has(n)) continue;
      const ref = this.deps.collab.acquire(segmentName(this.roomId, n), { change: () => this.schedule(), synced: () => this.schedule() });
      this.segments.set(n, ref);
      void ref.whenLocal().then(() => this.schedule());
    }
  }

  private computePreview(): RoomPreview | null {
    const last = this.timeline.at(-1);
    if (!last) return null;
    const own = last.author === this.deps.meId;
    const m = this.members[last.author];
    const authorName = m ? m.displayName || m.username : '';
    // a membership line names its people itself: no "who:" in front of it
    const membersLine = last.system?.type === 'members';
    return {
      authorId: last.author,
      authorName: membersLine ? '' : authorName,
      own: own && !membersLine,
      text: last.system?.type === 'members' ? systemText(last.system, authorName) : last.system && last.system.type !== 'poll' ? `📌 ${last.system.excerpt}` : last.system ? `📊 ${last.text}` : messageExcerpt(last),
      deleted: !!last.deleted,
      pending: own && last.seq === null,
    };
  }

  private countUnread(): number {
    let n = 0;
    for (const m of this.timeline) if (m.author !== this.deps.meId && !m.deleted && !m.system && this.deps.reads.isUnread(this.roomId, m.seq, m.at, this.serverRead)) n++;
    return n;
  }

  private computeUnreadMore(): boolean {
    const first = this.timeline.find((m) => m.seq !== null);
    if (!first || first.segment === 0 || this.segments.has(0)) return false;
    const local = this.deps.reads.get(this.roomId);
    const mark = local === null ? this.serverRead : Math.max(local, this.serverRead ?? 0);
    return mark !== null && mark < first.seq! - 1;
  }

  private checkNotifications(timeline: TimelineMessage[]): void {
    const open = this.openSegment === null ? undefined : this.segments.get(this.openSegment);
    let max = 0;
    for (const m of timeline) if (m.seq !== null && m.seq > max) max = m.seq;
    if (this.notifiedUpTo === null) {
      // arm once the server's state is in: what that first sync brings is history, not news
      if (open?.synced) this.notifiedUpTo = max;
      return;
    }
    const since = this.notifiedUpTo;
    if (max <= since) return;
    this.notifiedUpTo = max;
    const fresh = timeline.filter((m) => m.seq !== null && m.seq > since && m.author !== this.deps.meId && !m.deleted && !m.system && this.deps.reads.isUnread(this.roomId, m.seq, m.at, this.serverRead));
    // a muted room stays quiet, except for a message that mentions me
    const last = this.deps.isMuted(this.roomId) ? fresh.filter((m) => mentionsMe(m.mentions, this.deps.meId)).at(-1) : fresh.at(-1);
    if (!last) return;
    const member = this.members[last.author];
    const who = member ? member.displayName || member.username : '';
    const title = this.deps.title(this.roomId);
    const text = messageExcerpt(last);
    this.deps.notify(this.roomId, title, who && who !== title ? `${who}: ${text}` : text);
  }
}
