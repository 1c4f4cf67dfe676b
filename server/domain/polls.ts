/**
 * Polls and pinned notices. Integrity is the server's: options must belong to the poll, a
 * single-choice poll takes exactly one option, nobody votes for someone else, and a vote after
 * closure or after `ends_at` is refused at vote time (expired polls are also closed by a job).
 */
import type { PollsRepo, PollRow } from '../repos/polls.ts';
import type { AccessPolicy } from '../auth/access.ts';
import type { Clock, EventBus, Ids } from './deps.ts';
import { fail, type ErrorCode } from './errors.ts';
import type { Poll, Pin } from '../../src/lib/protocol/schema.ts';

export interface PollDeps {
  polls: PollsRepo;
  access: AccessPolicy;
  clock: Clock;
  ids: Ids;
  events: EventBus;
}

export interface PollInput {
  question: string;
  options: string[];
  multiple?: boolean;
  anonymous?: boolean;
  endsAt?: number | null;
}

export class PollService {
  constructor(private d: PollDeps) {}

  create(actorId: string, roomId: string, input: PollInput): Poll {
    this.d.access.membership(actorId, roomId);
    const question = input.question.trim();
    const options = input.options.map((o) => o.trim());
    if (!question || question.length > 300) fail('validation-failed', 'A question is 1-300 characters.');
    if (options.length < 2 || options.length > 10) fail('validation-failed', 'A poll has 2 to 10 options.');
    if (options.some((o) => !o || o.length > 100)) fail('validation-failed', 'Options are 1-100 characters.');
    if (new Set(options).size !== options.length) fail('validation-failed', 'Options must differ.');
    const now = this.d.clock.now();
    if (input.endsAt != null && input.endsAt <= now) fail('validation-failed', 'The deadline must be in the future.');
    const id = this.d.ids.next();
    this.d.polls.insertPoll(
      { id, room_id: roomId, created_by: actorId, question, multiple: input.multiple ? 1 : 0, anonymous: input.anonymous ? 1 : 0, ends_at: input.endsAt ?? null, created_at: now },
      options,
      () => this.d.ids.next(),
    );
    this.d.events.emit('head-changed', roomId);
    this.d.events.emit('system-line', roomId, { author: actorId, text: question, system: { type: 'poll', pollId: id } });
    return this.view(id)!;
  }

  /**
   * The rules for a vote written into a segment document: a document entry names its voter and every
   * member syncs it, so anonymous polls only take votes through the API.
   */
  checkDocumentVote(pollId: string, optionIds: string[]): ErrorCode | null {
    if (this.d.polls.poll(pollId)?.anonymous) return 'anonymous-vote';
    return this.check(pollId, optionIds);
  }

  /** The rules at vote time; null when the vote may be counted. */
  check(pollId: string, optionIds: string[], now = this.d.clock.now()): ErrorCode | null {
    const poll = this.d.polls.poll(pollId);
    if (!poll) return 'invalid-option';
    if (poll.closed_at !== null || (poll.ends_at !== null && poll.ends_at <= now)) return 'poll-closed';
    const valid = new Set(this.d.polls.options(pollId).map((o) => o.id));
    if (optionIds.length === 0 || new Set(optionIds).size !== optionIds.length) return 'validation-failed';
    if (optionIds.some((o) => !valid.has(o))) return 'invalid-option';
    if (!poll.multiple && optionIds.length !== 1) return 'single-choice';
    return null;
  }

  /** A vote through the API (non-Yjs clients): same rules as the document path. */
  vote(actorId: string, pollId: string, optionIds: string[]): Poll {
    const poll = this.pollVisibleTo(actorId, pollId);
    const code = this.check(pollId, optionIds);
    if (code) fail(code);
    this.record(poll.room_id, pollId, actorId, optionIds);
    return this.view(pollId)!;
  }

  /** Records a vote already checked (the document path re-checks at apply time through `check`). */
  record(roomId: string, pollId: string, userId: string, optionIds: string[]): boolean {
    const poll = this.d.polls.poll(pollId);
    if (!poll || poll.room_id !== roomId || this.check(pollId, optionIds)) return false;
    this.d.polls.replaceVote(pollId, userId, optionIds, this.d.clock.now());
    this.d.events.emit('head-changed', roomId);
    return true;
  }

  close(actorId: string, pollId: string): Poll {
    const poll = this.pollVisibleTo(actorId, pollId);
    // room admins of group rooms may close any poll; in a 1:1 room nobody moderates the other
    if (poll.created_by !== actorId && !this.d.access.moderates(actorId, poll.room_id)) fail('not-poll-owner');
    if (this.d.polls.close(pollId, this.d.clock.now())) this.d.events.emit('head-changed', poll.room_id);
    return this.view(pollId)!;
  }

  /** The periodic job: closes polls past their deadline. Returns how many closed. */
  closeExpired(): number {
    const now = this.d.clock.now();
    let n = 0;
    for (const p of this.d.polls.expired(now)) {
      if (this.d.polls.close(p.id, p.ends_at ?? now)) {
        n++;
        this.d.events.emit('head-changed', p.room_id);
      }
    }
    return n;
  }

  roomOf(pollId: string): string | null {
    return this.d.polls.poll(pollId)?.room_id ?? null;
  }

  get(actorId: string, pollId: string): Poll {
    this.pollVisibleTo(actorId, pollId);
    return this.view(pollId)!;
  }

  /** A poll of a room the actor is not in answers like one that does not exist. */
  private pollVisibleTo(actorId: string, pollId: string): PollRow {
    const poll = this.d.polls.poll(pollId);
    if (!poll) return fail('not-found');
    this.d.access.membership(actorId, poll.room_id);
    return poll;
  }

  view(pollId: string): Poll | null {
    const p = this.d.polls.poll(pollId);
    if (!p) return null;
    const options = this.d.polls.options(pollId);
    const votes = this.d.polls.votes(pollId);
    const tallies: Record<string, number> = {};
    const voters: Record<string, string[]> = {};
    for (const o of options) {
      tallies[o.id] = 0;
      voters[o.id] = [];
    }
    for (const v of votes) {
      tallies[v.option_id]++;
      if (!p.anonymous) voters[v.option_id].push(v.user_id);
    }
    return {
      id: p.id, question: p.question, options: options.map((o) => ({ id: o.id, text: o.text })),
      multiple: p.multiple === 1, anonymous: p.anonymous === 1, endsAt: p.ends_at,
      // a poll past its deadline is closed even before the job runs
      closedAt: p.closed_at ?? (p.ends_at !== null && p.ends_at <= this.d.clock.now() ? p.ends_at : null),
      createdBy: p.created_by, createdAt: p.created_at, tallies, voters,
      voterCount: new Set(votes.map((v) => v.user_id)).size,
    };
  }

  roomPolls(roomId: string): Poll[] {
    return this.d.polls.pollsOfRoom(roomId).map((p) => this.view(p.id)!);
  }

  // ---- pins -------------------------------------------------------------------------------------

  /** Any member pins a message (its text excerpt is taken by the caller from the document) or a notice. */
  pin(actorId: string, roomId: string, input: { messageId?: string; segment?: number; text: string }): Pin {
    this.d.access.membership(actorId, roomId);
    // a pinned message keeps an excerpt (messages may be longer than notices); a notice is taken as written
    const text = input.messageId ? cut(input.text.trim(), 1000) : input.text.trim();
    if (!text || text.length > 1000) fail('validation-failed', 'A notice is 1-1000 characters.');
    const row = {
      id: this.d.ids.next(), room_id: roomId, message_id: input.messageId ?? null, segment: input.segment ?? null,
      text, created_by: actorId, created_at: this.d.clock.now(),
    };
    this.d.polls.insertPin(row);
    this.d.events.emit('head-changed', roomId);
    this.d.events.emit('system-line', roomId, { author: actorId, text: '', system: { type: 'pinned', pinId: row.id, excerpt: cut(text, 80) } });
    return toPin(row);
  }

  /**
   * Takes a notice down: whoever pinned it, or an admin of a group room. In a 1:1 both people are
   * equals (nobody administers the other), so either may take down any notice there.
   */
  unpin(actorId: string, roomId: string, pinId: string): void {
    const { room } = this.d.access.membership(actorId, roomId);
    const pin = this.d.polls.pin(pinId, roomId);
    if (!pin) fail('not-found');
    if (pin!.created_by !== actorId && room.kind === 'group' && !this.d.access.moderates(actorId, roomId)) fail('not-pin-owner');
    this.d.polls.deletePin(pinId);
    this.d.events.emit('head-changed', roomId);
    this.d.events.emit('system-line', roomId, { author: actorId, text: '', system: { type: 'unpinned', pinId, excerpt: cut(pin!.text, 80) } });
  }

  roomPins(roomId: string): Pin[] {
    return this.d.polls.pinsOfRoom(roomId).map(toPin);
  }

  // ---- read positions ---------------------------------------------------------------------------

  /** Moves the user's read position forward (never back, never past the room's last message). */
  markRead(actorId: string, roomId: string, seq: number, lastSeq: number): number {
    this.d.access.membership(actorId, roomId);
    const target = Math.min(seq, lastSeq);
    if (this.d.polls.setRead(roomId, actorId, target)) this.d.events.emit('head-changed', roomId);
    return this.d.polls.readSeq(roomId, actorId);
  }

  roomReads(roomId: string): Record<string, number> {
    return Object.fromEntries(this.d.polls.reads(roomId).map((r) => [r.user_id, r.read_seq]));
  }
}

/** The first `max` UTF-16 units of `text`, without splitting a surrogate pair. */
const cut = (text: string, max: number) => (text.length <= max ? text : text.slice(0, /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max));

const toPin = (r: { id: string; message_id: string | null; segment: number | null; text: string; created_by: string; created_at: number }): Pin => ({
  id: r.id, messageId: r.message_id, segment: r.segment, text: r.text, by: r.created_by, at: r.created_at,
});
