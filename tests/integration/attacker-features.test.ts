/**
 * Attacker suite for the conversation features: a member with a modified client (a raw Yjs client
 * with a valid session) tries to break the rules on reactions, mentions, system lines, votes and the
 * server-written head maps. Each attempt must be refused with its specific code, and the document must
 * stay unchanged for everyone (the server's copy and another member's provider).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, sleep, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, acked, newId, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { PRESENCE_DOC, HEAD_PINS, HEAD_POLLS, HEAD_READS, SEGMENT_MESSAGES, SEGMENT_REACTIONS, SEGMENT_VOTES, reactionKey, voteKey, type Message, type Poll } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
let alice: TestUser; // room admin, the honest witness
let bob: TestUser; // member, our attacker
let roomId: string;
let seg: string;
let head: string;
let witness: OpenDoc; // alice's provider on segment 0
let headWitness: OpenDoc;
let aliceMsg: string;
let poll: Poll; // open, single choice, by alice
let closedPoll: Poll;
let elsewhere: Poll; // a poll of another room bob is in

beforeAll(async () => {
  server = await startServer({}, { rateLimits: { ...TEST_LIMITS, messages: { ...RATE_LIMITS.messages, points: 10_000 } } });
  [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
  roomId = (await makeRoom(alice, [bob])).id;
  seg = `room:${roomId}:0`;
  head = `room:${roomId}`;
  const socket = connectSocket(server.wsUrl);
  witness = await openDoc(socket, seg, alice.token);
  headWitness = await openDoc(socket, head, alice.token);
  aliceMsg = post(witness.doc, alice.id, 'a message to react to');
  witness.doc.getMap(SEGMENT_REACTIONS).set(reactionKey(aliceMsg, alice.id, '👍'), { at: Date.now() });
  await acked(witness.provider);

  poll = (await alice.api('POST', `/api/rooms/${roomId}/polls`, { question: 'q', options: ['a', 'b', 'c'] })).body.poll;
  closedPoll = (await alice.api('POST', `/api/rooms/${roomId}/polls`, { question: 'closed', options: ['a', 'b'] })).body.poll;
  await alice.api('POST', `/api/polls/${closedPoll.id}/close`);
  const otherRoom = (await makeRoom(alice, [bob])).id;
  elsewhere = (await alice.api('POST', `/api/rooms/${otherRoom}/polls`, { question: 'elsewhere', options: ['x', 'y'] })).body.poll;
  witness.doc.getMap(SEGMENT_VOTES).set(voteKey(poll.id, alice.id), { pollId: poll.id, optionIds: [poll.options[0].id], at: Date.now() });
  await acked(witness.provider);
  await waitFor(() => headWitness.doc.getMap<Poll>(HEAD_POLLS).get(poll.id)?.voterCount === 1, { message: "alice's vote counted" });
});
afterAll(async () => {
  witness.provider.configuration.websocketProvider.destroy();
  await server.close();
});

const serverDoc = (name: string) => server.app.collab.hocuspocus.documents.get(name)!;
const snapshotOf = (doc: Y.Doc) => JSON.stringify([...doc.share.keys()].sort().map((k) => [k, doc.get(k).toJSON()]));
const voteRowCount = () => server.app.services.db.prepare('SELECT count(*) FROM poll_votes WHERE user_id = ?').pluck().get(bob.id);

/** Sends the crafted update as `user` and asserts the refusal code and that nobody's copy changed. */
async function expectRefused(user: TestUser, change: (doc: Y.Doc) => void, code: string, name = seg) {
  const c = new RawClient(server.wsUrl);
  await c.open(name, user.token);
  const before = snapshotOf(serverDoc(name));
  const seen = name === seg ? witness.doc : headWitness.doc;
  const witnessBefore = snapshotOf(seen);
  const verdict = await c.attempt(name, c.craft(name, change));
  expect(verdict).toEqual({ accepted: false, reason: code });
  await sleep(20); // an applied update would have reached the witness by now
  expect(snapshotOf(serverDoc(name))).toBe(before);
  expect(snapshotOf(seen)).toBe(witnessBefore);
  c.close();
}

/** Sends the crafted update as `user` and expects it accepted. */
async function expectAccepted(user: TestUser, change: (doc: Y.Doc) => void, name = seg) {
  const c = new RawClient(server.wsUrl);
  await c.open(name, user.token);
  expect(await c.attempt(name, c.craft(name, change))).toEqual({ accepted: true, reason: null });
  c.close();
}

const react = (messageId: string, userId: string, emoji: string) => (doc: Y.Doc) =>
  doc.getMap(SEGMENT_REACTIONS).set(reactionKey(messageId, userId, emoji), { at: Date.now() });
const castVote = (key: string, value: Record<string, unknown>) => (doc: Y.Doc) => doc.getMap(SEGMENT_VOTES).set(key, value);
const message = (author: string, extra: Record<string, unknown> = {}) => {
  const id = newId();
  return { id, author, text: 'hello', createdAt: Date.now(), ...extra } as Message;
};
const write = (m: Message) => (doc: Y.Doc) => doc.getMap(SEGMENT_MESSAGES).set(m.id, m);

describe('reactions: a member cannot', () => {
  it('react as someone else, or overwrite their reaction', async () => {
    await expectRefused(bob, react(aliceMsg, alice.id, '🔥'), 'forged-author');
    await expectRefused(bob, react(aliceMsg, alice.id, '👍'), 'forged-author');
  });

  it("remove someone else's reaction", async () => {
    await expectRefused(bob, (doc) => doc.getMap(SEGMENT_REACTIONS).delete(reactionKey(aliceMsg, alice.id, '👍')), 'not-author');
  });

  it('react to a message that is not in the segment', async () => {
    await expectRefused(bob, react('nosuchmessage01', bob.id, '👍'), 'schema-violation');
  });

  it('use something that is not one emoji, or a key with extra parts', async () => {
    for (const emoji of ['lol', '', '👍 ', '👍'.repeat(9), '<b>x</b>', '👍abc', 'a👍', '👍👍', '🔥 spam']) await expectRefused(bob, react(aliceMsg, bob.id, emoji), 'schema-violation');
    await expectRefused(bob, (doc) => doc.getMap(SEGMENT_REACTIONS).set(`${aliceMsg}|${bob.id}|👍|x`, { at: 1 }), 'schema-violation');
    await expectRefused(bob, (doc) => doc.getMap(SEGMENT_REACTIONS).set(`${aliceMsg}|${bob.id}`, { at: 1 }), 'schema-violation');
  });

  it('store anything but {at} under a reaction', async () => {
    const key = reactionKey(aliceMsg, bob.id, '👍');
    await expectRefused(bob, (doc) => doc.getMap(SEGMENT_REACTIONS).set(key, { at: 'now' }), 'schema-violation');
    await expectRefused(bob, (doc) => doc.getMap(SEGMENT_REACTIONS).set(key, { at: 1, text: 'smuggled' }), 'schema-violation');
    await expectRefused(bob, (doc) => doc.getMap(SEGMENT_REACTIONS).set(key, new Y.Map()), 'schema-violation');
  });
});

describe('the same rules let honest writes through', () => {
  it('a reaction of my own, and removing it', async () => {
    await expectAccepted(bob, react(aliceMsg, bob.id, '🎉'));
    await waitFor(() => witness.doc.getMap(SEGMENT_REACTIONS).has(reactionKey(aliceMsg, bob.id, '🎉')), { message: "bob's reaction" });
    await expectAccepted(bob, (doc) => doc.getMap(SEGMENT_REACTIONS).delete(reactionKey(aliceMsg, bob.id, '🎉')));
    await waitFor(() => !witness.doc.getMap(SEGMENT_REACTIONS).has(reactionKey(aliceMsg, bob.id, '🎉')), { message: 'removed' });
  });

  it('a message mentioning 49 members and @all (50 entries)', async () => {
    const ids = Array.from({ length: 49 }, (_, i) => `user${String(i).padStart(6, '0')}`);
    await expectAccepted(bob, write(message(bob.id, { mentions: [...ids, 'all'] })));
  });
});

describe('mentions: a member cannot send malformed ones', () => {
  it('not an array, more than 50, duplicates, bad ids, non-strings', async () => {
    const ids = Array.from({ length: 51 }, (_, i) => `user${String(i).padStart(6, '0')}`);
    for (const mentions of ['all', ids, [alice.id, alice.id], ['bad id!'], ['short'], [42], [{ id: alice.id }]]) {
      await expectRefused(bob, write(message(bob.id, { mentions })), 'schema-violation');
    }
  });
});

describe('system lines: a member cannot', () => {
  it('write a message with `system`', async () => {
    await expectRefused(bob, write(message(bob.id, { system: { type: 'pinned', pinId: 'pin0000001', excerpt: 'fake' } })), 'schema-violation');
    await expectRefused(bob, write(message(bob.id, { system: { type: 'poll', pollId: poll.id } })), 'schema-violation');
  });

  it('edit or delete a system line, not even one the server wrote for its own pin', async () => {
    await bob.api('POST', `/api/rooms/${roomId}/pins`, { text: 'pinned by bob' });
    const line: Message = (await waitFor(() => [...messagesOf(witness.doc).values()].find((m) => m.system?.type === 'pinned' && m.author === bob.id), { message: "bob's pin line" }))!;
    const { system: _system, ...plain } = line;
    await expectRefused(bob, write({ ...plain, text: 'rewritten', editedAt: Date.now() }), 'server-owned');
    await expectRefused(bob, write({ ...plain, text: '', deleted: true }), 'server-owned');
    await expectRefused(bob, write({ ...line, text: 'rewritten', editedAt: Date.now() }), 'schema-violation');
    await expectRefused(bob, (doc) => doc.getMap(SEGMENT_MESSAGES).delete(line.id), 'not-author');
    // nor can the room admin
    await expectRefused(alice, write({ ...plain, text: '', deleted: true }), 'server-owned');
  });
});

describe('votes: a member cannot', () => {
  const v = (p: Poll, optionIds: string[], userId = bob.id) => castVote(voteKey(p.id, userId), { pollId: p.id, optionIds, at: Date.now() });

  it('vote for someone else', async () => {
    await expectRefused(bob, v(poll, [poll.options[1].id], alice.id), 'not-your-vote');
  });

  it('take two options in a single-choice poll', async () => {
    await expectRefused(bob, v(poll, [poll.options[0].id, poll.options[1].id]), 'single-choice');
  });

  it("vote with another poll's option, or for a poll of another room", async () => {
    await expectRefused(bob, v(poll, [closedPoll.options[0].id]), 'invalid-option');
    await expectRefused(bob, v(elsewhere, [elsewhere.options[0].id]), 'invalid-option');
    await expectRefused(bob, v({ ...poll, id: 'nosuchpoll01' }, [poll.options[0].id]), 'invalid-option');
  });

  it('vote in a closed poll', async () => {
    await expectRefused(bob, v(closedPoll, [closedPoll.options[0].id]), 'poll-closed');
  });

  it('write a malformed vote (key and value disagree, extra fields, bad key)', async () => {
    await expectRefused(bob, castVote(voteKey(poll.id, bob.id), { pollId: closedPoll.id, optionIds: [poll.options[0].id], at: 1 }), 'schema-violation');
    await expectRefused(bob, castVote(voteKey(poll.id, bob.id), { pollId: poll.id, optionIds: [poll.options[0].id], at: 1, weight: 100 }), 'schema-violation');
    await expectRefused(bob, castVote(voteKey(poll.id, bob.id), { pollId: poll.id, optionIds: poll.options[0].id, at: 1 }), 'schema-violation');
    await expectRefused(bob, castVote(`${poll.id}|${bob.id}|x`, { pollId: poll.id, optionIds: [poll.options[0].id], at: 1 }), 'schema-violation');
  });

  it("remove someone else's vote", async () => {
    await expectRefused(bob, (doc) => doc.getMap(SEGMENT_VOTES).delete(voteKey(poll.id, alice.id)), 'not-author');
  });

  it('and none of the refused votes left a row or moved a tally', async () => {
    expect(voteRowCount()).toBe(0);
    const seen = headWitness.doc.getMap<Poll>(HEAD_POLLS);
    expect(seen.get(poll.id)!.voterCount).toBe(1);
    expect(seen.get(closedPoll.id)!.voterCount).toBe(0);
  });
});

describe('unpinning: only the pinner or a room admin', () => {
  it('a member cannot take down a notice someone else pinned, by API or by writing the head', async () => {
    const { body } = await alice.api('POST', `/api/rooms/${roomId}/pins`, { text: '전체 공지: 금요일 휴무\n사무실 문 닫습니다' });
    const pinId: string = body.pin.id;
    await waitFor(() => headWitness.doc.getMap(HEAD_PINS).has(pinId), { message: 'the pin in the head' });
    // raw HTTP: refused with its code, the pin stays
    const res = await bob.api('DELETE', `/api/rooms/${roomId}/pins/${pinId}`);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('not-pin-owner');
    // raw Yjs: the head is server-written, a delete of the entry is refused
    await expectRefused(bob, (doc) => doc.getMap(HEAD_PINS).delete(pinId), 'read-only', head);
    expect(server.app.services.polls.roomPins(roomId).map((p) => p.id)).toContain(pinId);
    expect(headWitness.doc.getMap(HEAD_PINS).has(pinId)).toBe(true);
    // positive control: the admin who pinned it may
    expect((await alice.api('DELETE', `/api/rooms/${roomId}/pins/${pinId}`)).status).toBe(204);
    await waitFor(() => !headWitness.doc.getMap(HEAD_PINS).has(pinId), { message: 'the pin gone from the head' });
  });

  it('the pinner takes down their own notice, and an admin anyone\'s', async () => {
    const own = (await bob.api('POST', `/api/rooms/${roomId}/pins`, { text: "bob's notice" })).body.pin;
    expect((await bob.api('DELETE', `/api/rooms/${roomId}/pins/${own.id}`)).status).toBe(204);
    const other = (await bob.api('POST', `/api/rooms/${roomId}/pins`, { text: 'another of bob' })).body.pin;
    expect((await alice.api('DELETE', `/api/rooms/${roomId}/pins/${other.id}`)).status).toBe(204);
    await waitFor(() => !headWitness.doc.getMap(HEAD_PINS).has(other.id), { message: 'both gone' });
  });

  it('in a 1:1 either person may (nobody administers the other)', async () => {
    const dm = await alice.api('POST', '/api/rooms', { memberIds: [bob.id] });
    expect(dm.status).toBeLessThan(300);
    const dmId: string = dm.body.room.id;
    const pin = (await alice.api('POST', `/api/rooms/${dmId}/pins`, { text: 'between us' })).body.pin;
    expect((await bob.api('DELETE', `/api/rooms/${dmId}/pins/${pin.id}`)).status).toBe(204);
  });
});

describe('server-written documents: a member cannot write', () => {
  it('tallies, pins or read positions', async () => {
    await expectRefused(bob, (doc) => doc.getMap<Poll>(HEAD_POLLS).set(poll.id, { ...poll, tallies: { [poll.options[1].id]: 999 } }), 'read-only', head);
    await expectRefused(bob, (doc) => doc.getMap(HEAD_POLLS).delete(poll.id), 'read-only', head);
    await expectRefused(bob, (doc) => doc.getMap(HEAD_PINS).set('pin0000001', { id: 'pin0000001', messageId: null, segment: null, text: 'fake notice', by: alice.id, at: Date.now() }), 'read-only', head);
    await expectRefused(bob, (doc) => doc.getMap(HEAD_READS).set(alice.id, 0), 'read-only', head);
  });

  it('the presence document', async () => {
    const c = new RawClient(server.wsUrl);
    await c.open(PRESENCE_DOC, bob.token);
    expect(await c.attempt(PRESENCE_DOC, c.craft(PRESENCE_DOC, (doc) => doc.getMap('users').set(alice.id, 'offline')))).toEqual({ accepted: false, reason: 'read-only' });
    expect(server.app.collab.hocuspocus.documents.get(PRESENCE_DOC)?.share.size ?? 0).toBe(0);
    c.close();
  });
});
