/**
 * What a room shows around its messages, read from documents the room view also holds (the
 * collaboration client shares them, so acquiring again costs nothing): from the head, everyone's
 * read positions, the pins and the polls; from the segments, the reactions; and who is typing
 * (stateless messages on the head).
 *
 * Lifecycle: created with the room screen, `track(segments)` follows the segments the timeline
 * uses, `destroy()` releases every hold.
 */
import type { CollabClient, DocRef } from '$lib/collab/collab-client.svelte.ts';
import type { TimelineMessage } from '$lib/messages/timeline.ts';
import { collectReactions, type ReactionIndex } from '$lib/reactions/tally.ts';
import { HEAD_MEMBERS, HEAD_PINS, HEAD_ROOM, HEAD_POLLS, HEAD_READS, headName, segmentName, type Member, type Pin, type Poll, type StatelessFromServer } from '$lib/protocol/schema';
import { TypingState } from './typing.svelte.ts';

export class RoomFeatures {
  readonly roomId: string;
  reads = $state.raw<Record<string, number>>({});
  /** Who sees the history from before they joined (room settings). */
  visibility = $state<'joined' | 'shared'>('joined');
  members = $state.raw<Record<string, Member>>({});
  /** Newest first: the first is the banner. */
  pins = $state.raw<Pin[]>([]);
  polls = $state.raw<Record<string, Poll>>({});
  reactions = $state.raw<ReactionIndex>(new Map());
  readonly typing: TypingState;

  private meId: string;
  private collab: CollabClient;
  private head: DocRef;
  private segments = new Map<number, DocRef>();
  private queued = false;
  private destroyed = false;

  constructor(roomId: string, meId: string, collab: CollabClient) {
    this.roomId = roomId;
    this.meId = meId;
    this.collab = collab;
    this.typing = new TypingState(meId, () => this.head.sendStateless(JSON.stringify({ t: 'typing' })));
    this.head = collab.acquire(headName(roomId), {
      change: () => this.schedule(),
      stateless: (payload) => this.onStateless(payload),
    });
    void this.head.whenLocal().then(() => this.schedule());
  }

  /** Holds the segments the timeline shows (their reactions) and lets go of the others. */
  track(ns: Iterable<number>): void {
    if (this.destroyed) return;
    const want = new Set(ns);
    let changed = false;
    for (const [n, ref] of this.segments) {
      if (want.has(n)) continue;
      ref.release();
      this.segments.delete(n);
      changed = true;
    }
    for (const n of want) {
      if (this.segments.has(n)) continue;
      const ref = this.collab.acquire(segmentName(this.roomId, n), { change: () => this.schedule() });
      this.segments.set(n, ref);
      void ref.whenLocal().then(() => this.schedule());
      changed = true;
    }
    if (changed) this.schedule();
  }

  /** The live document of segment n (reactions are written where the message lives). */
  segmentDoc(n: number) {
    return this.segments.get(n)?.doc ?? null;
  }

  /**
   * KakaoTalk-style count under a message: members who were there when it arrived (joinedAt ≤ at)
   * and have not read up to it. The author and I never count (I am looking at it).
   */
  unreadCount(m: TimelineMessage): number {
    if (m.seq === null || m.at === null) return 0;
    let n = 0;
    for (const [id, member] of Object.entries(this.members)) {
      if (id === m.author || id === this.meId || member.joinedAt > m.at) continue;
      if ((this.reads[id] ?? 0) < m.seq) n++;
    }
    return n;
  }

  destroy(): void {
    this.destroyed = true;
    this.typing.dispose();
    this.head.release();
    for (const ref of this.segments.values()) ref.release();
    this.segments.clear();
  }

  private onStateless(payload: string): void {
    let msg: StatelessFromServer;
    try {
      msg = JSON.parse(payload) as StatelessFromServer;
    } catch {
      return;
    }
    this.typing.onStateless(msg);
  }

  private schedule(): void {
    if (this.queued || this.destroyed) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      if (!this.destroyed) this.read();
    });
  }

  private read(): void {
    const doc = this.head.doc;
    const visibility = doc.getMap(HEAD_ROOM).get('visibility');
    if (visibility === 'joined' || visibility === 'shared') this.visibility = visibility;
    this.reads = Object.fromEntries(doc.getMap<number>(HEAD_READS).entries());
    this.members = Object.fromEntries(doc.getMap<Member>(HEAD_MEMBERS).entries());
    this.pins = [...doc.getMap<Pin>(HEAD_PINS).values()].sort((a, b) => b.at - a.at);
    this.polls = Object.fromEntries(doc.getMap<Poll>(HEAD_POLLS).entries());
    this.reactions = collectReactions([...this.segments.values()].map((r) => r.doc));
  }
}
