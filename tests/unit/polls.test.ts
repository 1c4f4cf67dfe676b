/**
 * Poll, pin and read-position rules of PollService, on the real services over in-memory SQLite with
 * a fake clock: deadlines are decided by the clock at vote time, not by the periodic job.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { FakeClock, makeRoom, makeUser, postMessages, sequentialIds, type Domain } from '../helpers/domain.ts';
import { DomainError } from '../../server/domain/errors.ts';
import { openDatabase } from '../../server/db/database.ts';
import { loadConfig } from '../../server/config.ts';
import { buildServices } from '../../server/services.ts';

/** As makeDomain, but keeping the event bus (makeDomain's `events` is a recording of four events only). */
function makePollDomain() {
  const clock = new FakeClock();
  const config = loadConfig({}, { logLevel: 'silent' });
  const services = buildServices(openDatabase(':memory:'), config, { clock, ids: sequentialIds(), log: pino({ level: 'silent' }) });
  return { ...services, bus: services.events, clock, config, events: [] as Domain['events'] };
}

let d: ReturnType<typeof makePollDomain>;
let headChanges: string[];
let systemLines: { roomId: string; line: { author: string; text: string; system: Record<string, unknown> } }[];
beforeEach(() => {
  d = makePollDomain();
  headChanges = [];
  systemLines = [];
  d.bus.on('head-changed', (roomId) => void headChanges.push(roomId));
  // the poll and pin lines (a group's membership lines are tested in tests/integration/member-lines.test.ts)
  d.bus.on('system-line', (roomId, line) => void (line.system.type !== 'members' && systemLines.push({ roomId, line })));
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

/** A group room with an admin (alice), a member (bob) and an outsider (carol). */
function setup() {
  const [alice, bob, carol] = [makeUser(d), makeUser(d), makeUser(d)];
  const room = makeRoom(d, alice, [bob]);
  return { alice, bob, carol, room };
}

const optionIds = (poll: { options: { id: string }[] }) => poll.options.map((o) => o.id);
const votesRows = (pollId: string) => d.db.prepare('SELECT user_id, option_id FROM poll_votes WHERE poll_id = ? ORDER BY user_id, option_id').all(pollId);

describe('creating a poll', () => {
  it('stores the question and options, announces it in the head and the timeline', () => {
    const { alice, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: ' Lunch? ', options: ['noodles', 'rice'], anonymous: true });
    expect(poll).toMatchObject({ question: 'Lunch?', multiple: false, anonymous: true, endsAt: null, closedAt: null, createdBy: alice.id, voterCount: 0 });
    expect(poll.options.map((o) => o.text)).toEqual(['noodles', 'rice']);
    expect(poll.tallies).toEqual(Object.fromEntries(optionIds(poll).map((id) => [id, 0])));
    expect(headChanges).toContain(room.id);
    expect(systemLines).toEqual([{ roomId: room.id, line: { author: alice.id, text: 'Lunch?', system: { type: 'poll', pollId: poll.id } } }]);
  });

  it('refuses fewer than 2 or more than 10 options, blank or duplicate options, a blank question, a past deadline', () => {
    const { alice, room } = setup();
    const base = { question: 'q', options: ['a', 'b'] };
    expect(codeOf(() => d.polls.create(alice.id, room.id, { ...base, options: ['a'] }))).toBe('validation-failed');
    expect(codeOf(() => d.polls.create(alice.id, room.id, { ...base, options: Array.from({ length: 11 }, (_, i) => `o${i}`) }))).toBe('validation-failed');
    expect(codeOf(() => d.polls.create(alice.id, room.id, { ...base, options: ['a', '  '] }))).toBe('validation-failed');
    expect(codeOf(() => d.polls.create(alice.id, room.id, { ...base, options: ['a', 'a '] }))).toBe('validation-failed');
    expect(codeOf(() => d.polls.create(alice.id, room.id, { ...base, question: '   ' }))).toBe('validation-failed');
    expect(codeOf(() => d.polls.create(alice.id, room.id, { ...base, endsAt: d.clock.now() }))).toBe('validation-failed');
    expect(d.polls.create(alice.id, room.id, { ...base, options: Array.from({ length: 10 }, (_, i) => `o${i}`) }).options).toHaveLength(10);
    expect(d.polls.roomPolls(room.id)).toHaveLength(1);
  });

  it('is for members only', () => {
    const { carol, room } = setup();
    expect(codeOf(() => d.polls.create(carol.id, room.id, { question: 'q', options: ['a', 'b'] }))).toBe('not-found');
  });
});

describe('voting', () => {
  it('counts votes, shows voters, and replaces a single-choice vote', () => {
    const { alice, bob, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'] });
    const [a, b] = optionIds(poll);
    d.polls.vote(alice.id, poll.id, [a]);
    let view = d.polls.vote(bob.id, poll.id, [a]);
    expect(view.tallies).toEqual({ [a]: 2, [b]: 0 });
    expect(view.voters[a].sort()).toEqual([alice.id, bob.id].sort());
    expect(view.voterCount).toBe(2);
    view = d.polls.vote(bob.id, poll.id, [b]);
    expect(view.tallies).toEqual({ [a]: 1, [b]: 1 });
    expect(view.voters).toEqual({ [a]: [alice.id], [b]: [bob.id] });
    expect(view.voterCount).toBe(2);
  });

  it('takes several options in a multiple-choice poll and counts the voter once', () => {
    const { alice, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b', 'c'], multiple: true });
    const [a, b, c] = optionIds(poll);
    const view = d.polls.vote(alice.id, poll.id, [a, c]);
    expect(view.tallies).toEqual({ [a]: 1, [b]: 0, [c]: 1 });
    expect(view.voterCount).toBe(1);
  });

  it('hides who voted in an anonymous poll but still counts', () => {
    const { alice, bob, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'], anonymous: true });
    const [a, b] = optionIds(poll);
    d.polls.vote(alice.id, poll.id, [a]);
    const view = d.polls.vote(bob.id, poll.id, [b]);
    expect(view.tallies).toEqual({ [a]: 1, [b]: 1 });
    expect(view.voters).toEqual({ [a]: [], [b]: [] });
    expect(view.voterCount).toBe(2);
  });

  it("refuses an option of another poll and leaves no row", () => {
    const { alice, bob, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'] });
    const other = d.polls.create(alice.id, room.id, { question: 'other', options: ['x', 'y'] });
    expect(codeOf(() => d.polls.vote(bob.id, poll.id, [optionIds(other)[0]]))).toBe('invalid-option');
    expect(codeOf(() => d.polls.vote(bob.id, poll.id, ['no-such-option']))).toBe('invalid-option');
    expect(votesRows(poll.id)).toEqual([]);
    expect(votesRows(other.id)).toEqual([]);
  });

  it('refuses two options in a single-choice poll, and empty or repeated options', () => {
    const { alice, bob, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'] });
    const [a, b] = optionIds(poll);
    expect(codeOf(() => d.polls.vote(bob.id, poll.id, [a, b]))).toBe('single-choice');
    expect(codeOf(() => d.polls.vote(bob.id, poll.id, []))).toBe('validation-failed');
    const multi = d.polls.create(alice.id, room.id, { question: 'm', options: ['a', 'b'], multiple: true });
    expect(codeOf(() => d.polls.vote(bob.id, multi.id, [optionIds(multi)[0], optionIds(multi)[0]]))).toBe('validation-failed');
    expect(votesRows(poll.id)).toEqual([]);
  });

  it('refuses a vote once the clock passes the deadline, before any job has closed the poll', () => {
    const { alice, bob, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'], endsAt: d.clock.now() + 60_000 });
    const [a] = optionIds(poll);
    d.clock.advance(59_999);
    d.polls.vote(alice.id, poll.id, [a]);
    d.clock.advance(1);
    expect(codeOf(() => d.polls.vote(bob.id, poll.id, [a]))).toBe('poll-closed');
    expect(d.db.prepare('SELECT closed_at FROM polls WHERE id = ?').pluck().get(poll.id)).toBeNull(); // no job ran
    // the view already reports it closed at its deadline
    expect(d.polls.view(poll.id)!.closedAt).toBe(poll.endsAt);
    expect(votesRows(poll.id)).toEqual([{ user_id: alice.id, option_id: a }]);
  });

  it('refuses a vote after closing, and record() (the document path) re-checks too', () => {
    const { alice, bob, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'] });
    const [a] = optionIds(poll);
    d.polls.close(alice.id, poll.id);
    expect(codeOf(() => d.polls.vote(bob.id, poll.id, [a]))).toBe('poll-closed');
    expect(d.polls.check(poll.id, [a])).toBe('poll-closed');
    expect(d.polls.record(room.id, poll.id, bob.id, [a])).toBe(false);
    expect(votesRows(poll.id)).toEqual([]);
  });

  it('record() refuses a poll of another room', () => {
    const { alice, bob, room } = setup();
    const otherRoom = makeRoom(d, alice, [bob]);
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'] });
    expect(d.polls.record(otherRoom.id, poll.id, bob.id, [optionIds(poll)[0]])).toBe(false);
    expect(votesRows(poll.id)).toEqual([]);
  });

  it('a poll of a room I am not in answers like a missing one', () => {
    const { alice, carol, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'] });
    expect(codeOf(() => d.polls.vote(carol.id, poll.id, [optionIds(poll)[0]]))).toBe('not-found');
    expect(codeOf(() => d.polls.get(carol.id, poll.id))).toBe('not-found');
    expect(codeOf(() => d.polls.get(carol.id, 'no-such-poll'))).toBe('not-found');
    expect(codeOf(() => d.polls.close(carol.id, poll.id))).toBe('not-found');
  });
});

describe('closing', () => {
  it('is allowed to the creator and to a room admin, not to other members', () => {
    const { alice, bob, room } = setup();
    const dave = makeUser(d);
    d.rooms.invite(alice.id, room.id, [dave.id]);
    const byBob = d.polls.create(bob.id, room.id, { question: 'bob asks', options: ['a', 'b'] });
    const byAlice = d.polls.create(alice.id, room.id, { question: 'alice asks', options: ['a', 'b'] });
    expect(codeOf(() => d.polls.close(dave.id, byBob.id))).toBe('not-poll-owner');
    expect(codeOf(() => d.polls.close(bob.id, byAlice.id))).toBe('not-poll-owner');
    d.clock.advance(10);
    expect(d.polls.close(bob.id, byBob.id).closedAt).toBe(d.clock.now());
    expect(d.polls.close(alice.id, byAlice.id).closedAt).toBe(d.clock.now());
    const another = d.polls.create(bob.id, room.id, { question: 'again', options: ['a', 'b'] });
    expect(d.polls.close(alice.id, another.id).closedAt).not.toBeNull(); // admin closes a member's poll
  });

  it("in a 1:1 room is for the creator only (nobody moderates the other there)", () => {
    const [alice, bob] = [makeUser(d), makeUser(d)];
    const direct = d.rooms.create(alice.id, { memberIds: [bob.id] });
    expect(direct.kind).toBe('direct');
    const poll = d.polls.create(bob.id, direct.id, { question: 'q', options: ['a', 'b'] });
    expect(codeOf(() => d.polls.close(alice.id, poll.id))).toBe('not-poll-owner');
    expect(d.polls.close(bob.id, poll.id).closedAt).not.toBeNull();
  });

  it('twice keeps the first closing time', () => {
    const { alice, room } = setup();
    const poll = d.polls.create(alice.id, room.id, { question: 'q', options: ['a', 'b'] });
    const first = d.polls.close(alice.id, poll.id).closedAt;
    d.clock.advance(1000);
    expect(d.polls.close(alice.id, poll.id).closedAt).toBe(first);
  });

  it('closeExpired closes only polls past their deadline, at the deadline, once', () => {
    const { alice, room } = setup();
    const soon = d.polls.create(alice.id, room.id, { question: 'soon', options: ['a', 'b'], endsAt: d.clock.now() + 1000 });
    const later = d.polls.create(alice.id, room.id, { question: 'later', options: ['a', 'b'], endsAt: d.clock.now() + 5000 });
    const never = d.polls.create(alice.id, room.id, { question: 'never', options: ['a', 'b'] });
    expect(d.polls.closeExpired()).toBe(0);
    d.clock.advance(2000);
    headChanges.length = 0;
    expect(d.polls.closeExpired()).toBe(1);
    expect(headChanges).toEqual([room.id]);
    expect(d.db.prepare('SELECT closed_at FROM polls WHERE id = ?').pluck().get(soon.id)).toBe(soon.endsAt);
    expect(d.db.prepare('SELECT closed_at FROM polls WHERE id = ?').pluck().get(later.id)).toBeNull();
    expect(d.polls.closeExpired()).toBe(0);
    d.clock.advance(10_000);
    expect(d.polls.closeExpired()).toBe(1);
    expect(d.polls.view(never.id)!.closedAt).toBeNull();
  });
});

describe('pins', () => {
  it('any member pins a notice or a message and unpins; each leaves a system line', () => {
    const { alice, bob, carol, room } = setup();
    const notice = d.polls.pin(bob.id, room.id, { text: ' Office closed Friday ' });
    d.clock.advance(5);
    const msgPin = d.polls.pin(alice.id, room.id, { messageId: 'msg_00000001', segment: 0, text: 'the pinned message' });
    expect(notice).toMatchObject({ messageId: null, segment: null, text: 'Office closed Friday', by: bob.id });
    expect(msgPin).toMatchObject({ messageId: 'msg_00000001', segment: 0, text: 'the pinned message', by: alice.id });
    expect(d.polls.roomPins(room.id).map((p) => p.id)).toEqual([notice.id, msgPin.id]); // newest last
    d.polls.unpin(alice.id, room.id, notice.id);
    expect(d.polls.roomPins(room.id).map((p) => p.id)).toEqual([msgPin.id]);
    expect(systemLines.map((l) => l.line.system)).toEqual([
      { type: 'pinned', pinId: notice.id, excerpt: 'Office closed Friday' },
      { type: 'pinned', pinId: msgPin.id, excerpt: 'the pinned message' },
      { type: 'unpinned', pinId: notice.id, excerpt: 'Office closed Friday' },
    ]);
    expect(codeOf(() => d.polls.pin(carol.id, room.id, { text: 'intruder' }))).toBe('not-found');
    expect(codeOf(() => d.polls.unpin(carol.id, room.id, msgPin.id))).toBe('not-found');
    expect(codeOf(() => d.polls.unpin(alice.id, room.id, notice.id))).toBe('not-found'); // already gone
  });

  it('cannot unpin a pin of another room through this room', () => {
    const { alice, bob, room } = setup();
    const other = makeRoom(d, alice, [bob]);
    const pin = d.polls.pin(alice.id, other.id, { text: 'elsewhere' });
    expect(codeOf(() => d.polls.unpin(alice.id, room.id, pin.id))).toBe('not-found');
    expect(d.polls.roomPins(other.id)).toHaveLength(1);
  });

  it('keeps an excerpt of a long pinned message, and excerpts never split a character', () => {
    const { alice, room } = setup();
    const long = 'a'.repeat(79) + '😀'.repeat(1000);
    const pin = d.polls.pin(alice.id, room.id, { messageId: 'msg_00000001', segment: 0, text: long });
    expect(pin.text.length).toBeLessThanOrEqual(1000);
    expect(long.startsWith(pin.text) && pin.text.isWellFormed()).toBe(true);
    const excerpt = (systemLines[0].line.system as { excerpt: string }).excerpt;
    expect(excerpt).toBe('a'.repeat(79));
    d.polls.unpin(alice.id, room.id, pin.id);
    expect((systemLines[1].line.system as { excerpt: string }).excerpt).toBe(excerpt);
  });

  it('refuses an empty or too long notice', () => {
    const { alice, room } = setup();
    expect(codeOf(() => d.polls.pin(alice.id, room.id, { text: '   ' }))).toBe('validation-failed');
    expect(codeOf(() => d.polls.pin(alice.id, room.id, { text: 'x'.repeat(1001) }))).toBe('validation-failed');
    expect(systemLines).toEqual([]);
  });
});

describe('read positions', () => {
  it('move forward only and never past the last message', () => {
    const { alice, bob, room } = setup();
    postMessages(d, room.id, 5);
    const last = d.repos.rooms.byId(room.id)!.last_seq;
    expect(last).toBeGreaterThanOrEqual(5);
    expect(d.polls.markRead(bob.id, room.id, 3, last)).toBe(3);
    headChanges.length = 0;
    expect(d.polls.markRead(bob.id, room.id, 2, last)).toBe(3);
    expect(headChanges).toEqual([]); // nothing moved, nothing to mirror
    expect(d.polls.markRead(bob.id, room.id, last + 100, last)).toBe(last);
    expect(headChanges).toEqual([room.id]);
    expect(d.polls.roomReads(room.id)).toEqual({ [alice.id]: 0, [bob.id]: last });
  });

  it('are for members only', () => {
    const { carol, room } = setup();
    expect(codeOf(() => d.polls.markRead(carol.id, room.id, 1, 1))).toBe('not-found');
  });
});
