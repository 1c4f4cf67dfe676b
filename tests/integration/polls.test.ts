/**
 * Polls end to end: created over HTTP (a `poll` system line in the timeline, the poll in the head's
 * `polls` map), voted through the segment's `votes` map or `POST /api/polls/:id/vote`, tallied by the
 * server only, closed by the creator, a room admin or the deadline — checked at vote time, and swept
 * while the server runs. Includes the seed scenarios (another poll's option, a vote after `endsAt`)
 * and offline votes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, sleep, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, messagesOf, receiptsOf, acked, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { HEAD_POLLS, SEGMENT_VOTES, voteKey, type Poll, type Vote } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
beforeAll(async () => {
  // the sweep is slow here on purpose: a refusal after `endsAt` must come from the check at vote time
  server = await startServer({}, { pollSweepMs: 60_000, rateLimits: { ...TEST_LIMITS, messages: { ...RATE_LIMITS.messages, points: 10_000 } } });
});
afterAll(() => server.close());

const pollsOf = (head: Y.Doc) => head.getMap<Poll>(HEAD_POLLS);
const votesOf = (seg: Y.Doc) => seg.getMap<Vote>(SEGMENT_VOTES);
const voteRows = (s: TestServer, pollId: string) =>
  s.app.services.db.prepare('SELECT user_id, option_id FROM poll_votes WHERE poll_id = ? ORDER BY user_id, option_id').all(pollId) as { user_id: string; option_id: string }[];
const closedAtInDb = (s: TestServer, pollId: string) => s.app.services.db.prepare('SELECT closed_at FROM polls WHERE id = ?').pluck().get(pollId);

interface Setup {
  alice: TestUser; // room admin
  bob: TestUser;
  carol: TestUser; // member, not admin
  roomId: string;
  name: string; // segment 0
  head: OpenDoc; // alice's head
  aSeg: OpenDoc;
  bSeg: OpenDoc;
  bobSocket: ReturnType<typeof connectSocket>;
  done(): void;
}

async function setup(s: TestServer = server): Promise<Setup> {
  const [alice, bob, carol] = await Promise.all([makeUser(s), makeUser(s), makeUser(s)]);
  const room = await makeRoom(alice, [bob, carol]);
  const name = `room:${room.id}:0`;
  const aliceSocket = connectSocket(s.wsUrl);
  const bobSocket = connectSocket(s.wsUrl);
  const [head, aSeg, bSeg] = await Promise.all([openDoc(aliceSocket, `room:${room.id}`, alice.token), openDoc(aliceSocket, name, alice.token), openDoc(bobSocket, name, bob.token)]);
  return { alice, bob, carol, roomId: room.id, name, head, aSeg, bSeg, bobSocket, done: () => [aliceSocket, bobSocket].forEach((x) => x.destroy()) };
}

async function createPoll(user: TestUser, roomId: string, input: Record<string, unknown> = {}): Promise<Poll> {
  const res = await user.api('POST', `/api/rooms/${roomId}/polls`, { question: 'Where do we eat?', options: ['김밥천국', 'Pho', 'Pizza'], ...input });
  if (res.status !== 201) throw new Error(`create poll: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.poll;
}

function vote(seg: OpenDoc, user: TestUser, pollId: string, optionIds: string[]) {
  votesOf(seg.doc).set(voteKey(pollId, user.id), { pollId, optionIds, at: Date.now() });
}

const opt = (poll: Poll, i: number) => poll.options[i].id;

describe('creating a poll', () => {
  it('puts it in the head and a `poll` system line with a receipt in the timeline', async () => {
    const { bob, roomId, head, aSeg, done } = await setup();
    const poll = await createPoll(bob, roomId, { anonymous: true, endsAt: Date.now() + 3_600_000 });
    expect(poll).toMatchObject({ question: 'Where do we eat?', multiple: false, anonymous: true, closedAt: null, createdBy: bob.id, voterCount: 0 });
    expect(poll.options.map((o) => o.text)).toEqual(['김밥천국', 'Pho', 'Pizza']);
    await waitFor(() => pollsOf(head.doc).has(poll.id), { message: 'poll in the head' });
    expect(pollsOf(head.doc).get(poll.id)).toEqual(poll);
    await waitFor(() => [...messagesOf(aSeg.doc).values()].some((m) => m.system?.type === 'poll'), { message: 'poll line' });
    const line = [...messagesOf(aSeg.doc).values()].find((m) => m.system?.type === 'poll')!;
    expect(line).toMatchObject({ author: bob.id, text: 'Where do we eat?', system: { type: 'poll', pollId: poll.id } });
    await waitFor(() => receiptsOf(aSeg.doc).has(line.id), { message: 'receipt of the poll line' });
    expect((await bob.api('GET', `/api/polls/${poll.id}`)).body.poll).toEqual(poll);
    done();
  });

  it('refuses invalid polls with 400 validation-failed and non-members with 404', async () => {
    const { alice, carol, roomId, head, done } = await setup();
    const outsider = await makeUser(server);
    const bad = [
      { question: 'q', options: ['only one'] },
      { question: 'q', options: Array.from({ length: 11 }, (_, i) => `o${i}`) },
      { question: 'q', options: ['same', 'same'] },
      { question: '  ', options: ['a', 'b'] },
      { question: 'q', options: ['a', ''] },
      { question: 'q', options: ['a', 'b'], endsAt: Date.now() - 1000 },
      { question: 'q', options: ['a', 'b'], endsAt: 'tomorrow' },
      { question: 'q', options: 'a,b' },
      { question: 'q', options: ['a', 'b'], secret: true },
      { options: ['a', 'b'] },
    ];
    for (const body of bad) {
      const res = await alice.api('POST', `/api/rooms/${roomId}/polls`, body);
      expect({ body, status: res.status, code: res.body?.error?.code }).toEqual({ body, status: 400, code: 'validation-failed' });
    }
    expect((await outsider.api('POST', `/api/rooms/${roomId}/polls`, { question: 'q', options: ['a', 'b'] })).status).toBe(404);
    const ok = await createPoll(carol, roomId, { options: Array.from({ length: 10 }, (_, i) => `o${i}`), multiple: true });
    expect(ok.options).toHaveLength(10);
    expect((await outsider.api('GET', `/api/polls/${ok.id}`)).status).toBe(404);
    await waitFor(() => pollsOf(head.doc).size === 1, { message: 'only the valid poll in the head' });
    done();
  });
});

describe('voting', () => {
  it('through the document is counted by the server, shown in the head, and a single-choice vote can change', async () => {
    const { bob, roomId, head, bSeg, done } = await setup();
    const poll = await createPoll(bob, roomId);
    vote(bSeg, bob, poll.id, [opt(poll, 0)]);
    await acked(bSeg.provider);
    await waitFor(() => pollsOf(head.doc).get(poll.id)?.tallies[opt(poll, 0)] === 1, { message: 'tally in the head' });
    expect(pollsOf(head.doc).get(poll.id)!.voters[opt(poll, 0)]).toEqual([bob.id]);
    expect(voteRows(server, poll.id)).toEqual([{ user_id: bob.id, option_id: opt(poll, 0) }]);

    vote(bSeg, bob, poll.id, [opt(poll, 2)]);
    await acked(bSeg.provider);
    await waitFor(() => pollsOf(head.doc).get(poll.id)?.tallies[opt(poll, 2)] === 1, { message: 'changed vote in the head' });
    expect(pollsOf(head.doc).get(poll.id)!.tallies).toEqual({ [opt(poll, 0)]: 0, [opt(poll, 1)]: 0, [opt(poll, 2)]: 1 });
    expect(pollsOf(head.doc).get(poll.id)!.voterCount).toBe(1);
    expect(voteRows(server, poll.id)).toEqual([{ user_id: bob.id, option_id: opt(poll, 2) }]);
    expect(bSeg.closes).toEqual([]);
    done();
  });

  it('through POST /api/polls/:id/vote follows the same rules and shows in the head', async () => {
    const { alice, bob, carol, roomId, head, done } = await setup();
    const multi = await createPoll(alice, roomId, { multiple: true });
    const single = await createPoll(alice, roomId);
    const res = await bob.api('POST', `/api/polls/${multi.id}/vote`, { optionIds: [opt(multi, 0), opt(multi, 1)] });
    expect(res.status).toBe(200);
    expect(res.body.poll.tallies).toEqual({ [opt(multi, 0)]: 1, [opt(multi, 1)]: 1, [opt(multi, 2)]: 0 });
    expect((await carol.api('POST', `/api/polls/${single.id}/vote`, { optionId: opt(single, 1) })).body.poll.voters[opt(single, 1)]).toEqual([carol.id]);

    const two = await bob.api('POST', `/api/polls/${single.id}/vote`, { optionIds: [opt(single, 0), opt(single, 1)] });
    expect([two.status, two.body.error.code]).toEqual([400, 'single-choice']);
    for (const body of [{}, { optionIds: [] }, { optionIds: 'x' }, { optionIds: [opt(single, 0)], extra: 1 }]) {
      expect((await bob.api('POST', `/api/polls/${single.id}/vote`, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await bob.api('POST', '/api/polls/nosuchpoll1/vote', { optionId: 'x' })).status).toBe(404);
    const outsider = await makeUser(server);
    expect((await outsider.api('POST', `/api/polls/${single.id}/vote`, { optionId: opt(single, 0) })).status).toBe(404);

    await waitFor(() => pollsOf(head.doc).get(multi.id)?.voterCount === 1 && pollsOf(head.doc).get(single.id)?.voterCount === 1, { message: 'tallies in the head' });
    expect(voteRows(server, single.id)).toEqual([{ user_id: carol.id, option_id: opt(single, 1) }]);
    done();
  });

  it('in an anonymous poll counts without naming voters, in the head and over HTTP', async () => {
    const { alice, bob, roomId, head, bSeg, done } = await setup();
    const poll = await createPoll(alice, roomId, { anonymous: true });
    // a document vote would show the voter to every member: refused, never stored
    vote(bSeg, bob, poll.id, [opt(poll, 1)]);
    await waitFor(() => bSeg.closes.includes('anonymous-vote'), { message: 'anonymous-vote refusal' });
    const serverSeg = server.app.collab.hocuspocus.documents.get(bSeg.provider.configuration.name);
    expect(serverSeg?.getMap('votes').size ?? 0).toBe(0);
    expect(voteRows(server, poll.id)).toEqual([]);
    await bob.api('POST', `/api/polls/${poll.id}/vote`, { optionIds: [opt(poll, 1)] });
    await alice.api('POST', `/api/polls/${poll.id}/vote`, { optionIds: [opt(poll, 1)] });
    await waitFor(() => pollsOf(head.doc).get(poll.id)?.tallies[opt(poll, 1)] === 2, { message: 'two votes' });
    const seen = pollsOf(head.doc).get(poll.id)!;
    expect(seen.voters).toEqual({ [opt(poll, 0)]: [], [opt(poll, 1)]: [], [opt(poll, 2)]: [] });
    expect(JSON.stringify(seen)).not.toContain(bob.id);
    expect((await bob.api('GET', `/api/polls/${poll.id}`)).body.poll.voters[opt(poll, 1)]).toEqual([]);
    done();
  });
});

describe('closing a poll', () => {
  it('is for its creator or a room admin (others get 403 not-poll-owner); votes after it are refused', async () => {
    const { alice, bob, carol, roomId, head, done } = await setup();
    const bobs = await createPoll(bob, roomId);
    const other = await createPoll(bob, roomId);
    const denied = await carol.api('POST', `/api/polls/${bobs.id}/close`);
    expect([denied.status, denied.body.error.code]).toEqual([403, 'not-poll-owner']);
    expect((await makeUser(server).then((o) => o.api('POST', `/api/polls/${bobs.id}/close`))).status).toBe(404);

    const closed = await bob.api('POST', `/api/polls/${bobs.id}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body.poll.closedAt).toEqual(expect.any(Number));
    expect((await alice.api('POST', `/api/polls/${other.id}/close`)).body.poll.closedAt).toEqual(expect.any(Number)); // admin
    await waitFor(() => pollsOf(head.doc).get(bobs.id)?.closedAt != null && pollsOf(head.doc).get(other.id)?.closedAt != null, { message: 'closed in the head' });

    const late = await carol.api('POST', `/api/polls/${bobs.id}/vote`, { optionId: opt(bobs, 0) });
    expect([late.status, late.body.error.code]).toEqual([409, 'poll-closed']);
    expect(voteRows(server, bobs.id)).toEqual([]);
    done();
  });
});

describe('seed scenarios', () => {
  it("a vote with another poll's option is refused 400 invalid-option over HTTP and leaves no row", async () => {
    const { alice, bob, roomId, done } = await setup();
    const poll = await createPoll(alice, roomId);
    const other = await createPoll(alice, roomId, { question: 'Another?', options: ['yes', 'no'] });
    const res = await bob.api('POST', `/api/polls/${poll.id}/vote`, { optionIds: [opt(other, 0)] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid-option');
    expect(voteRows(server, poll.id)).toEqual([]);
    expect(voteRows(server, other.id)).toEqual([]);
    expect(server.app.services.db.prepare('SELECT count(*) FROM poll_votes WHERE user_id = ?').pluck().get(bob.id)).toBe(0);
    done();
  });

  it("a vote with another poll's option is refused invalid-option over the document and leaves no row", async () => {
    const { alice, bob, roomId, name, aSeg, head, done } = await setup();
    const poll = await createPoll(alice, roomId);
    const other = await createPoll(alice, roomId, { question: 'Another?', options: ['yes', 'no'] });
    const c = new RawClient(server.wsUrl);
    await c.open(name, bob.token);
    const before = Y.encodeStateVector(server.app.collab.hocuspocus.documents.get(name)!);
    const verdict = await c.attempt(name, c.craft(name, (doc) => doc.getMap(SEGMENT_VOTES).set(voteKey(poll.id, bob.id), { pollId: poll.id, optionIds: [opt(other, 0)], at: Date.now() })));
    expect(verdict).toEqual({ accepted: false, reason: 'invalid-option' });
    await sleep(50);
    expect(Y.encodeStateVector(server.app.collab.hocuspocus.documents.get(name)!)).toEqual(before);
    expect(votesOf(aSeg.doc).size).toBe(0);
    expect(voteRows(server, poll.id)).toEqual([]);
    expect(voteRows(server, other.id)).toEqual([]);
    expect(pollsOf(head.doc).get(poll.id)?.voterCount ?? 0).toBe(0);
    c.close();
    done();
  });

  it('a vote after endsAt is refused at vote time, without a restart and before any sweep', async () => {
    const { alice, bob, roomId, name, done } = await setup();
    const poll = await createPoll(alice, roomId, { endsAt: Date.now() + 1500 });
    const c = new RawClient(server.wsUrl);
    await c.open(name, bob.token);
    expect((await alice.api('POST', `/api/polls/${poll.id}/vote`, { optionId: opt(poll, 0) })).status).toBe(200); // still open
    await waitFor(() => Date.now() > poll.endsAt! + 20, { timeout: 3000, message: 'the deadline' });
    expect(closedAtInDb(server, poll.id)).toBeNull(); // nothing has closed it yet (sweep every 60 s)

    const late = await bob.api('POST', `/api/polls/${poll.id}/vote`, { optionId: opt(poll, 1) });
    expect([late.status, late.body.error.code]).toEqual([409, 'poll-closed']);
    const verdict = await c.attempt(name, c.craft(name, (doc) => doc.getMap(SEGMENT_VOTES).set(voteKey(poll.id, bob.id), { pollId: poll.id, optionIds: [opt(poll, 1)], at: Date.now() })));
    expect(verdict).toEqual({ accepted: false, reason: 'poll-closed' });
    expect(voteRows(server, poll.id)).toEqual([{ user_id: alice.id, option_id: opt(poll, 0) }]);
    expect((await bob.api('GET', `/api/polls/${poll.id}`)).body.poll.closedAt).toBe(poll.endsAt);
    c.close();
    done();
  });
});

describe('the poll sweep', () => {
  it('closes an expired poll by itself while the server runs, and the head shows it', async () => {
    const fast = await startServer({}, { pollSweepMs: 100 });
    try {
      const { alice, roomId, head, done } = await setup(fast);
      const poll = await createPoll(alice, roomId, { endsAt: Date.now() + 700 });
      await waitFor(() => pollsOf(head.doc).has(poll.id), { message: 'poll in the head' });
      expect(pollsOf(head.doc).get(poll.id)!.closedAt).toBeNull();
      await waitFor(() => pollsOf(head.doc).get(poll.id)?.closedAt === poll.endsAt, { timeout: 3000, message: 'closed by the sweep' });
      expect(closedAtInDb(fast, poll.id)).toBe(poll.endsAt);
      done();
    } finally {
      await fast.close();
    }
  });
});

describe('offline votes', () => {
  it('are counted when the client comes back', async () => {
    const { bob, roomId, head, bSeg, bobSocket, done } = await setup();
    const poll = await createPoll(bob, roomId);
    await waitFor(() => pollsOf(head.doc).has(poll.id));
    bobSocket.disconnect();
    await waitFor(() => bobSocket.status === 'disconnected', { message: 'offline' });
    vote(bSeg, bob, poll.id, [opt(poll, 1)]);
    await sleep(100);
    expect(voteRows(server, poll.id)).toEqual([]);
    void bobSocket.connect();
    await acked(bSeg.provider);
    await waitFor(() => pollsOf(head.doc).get(poll.id)?.tallies[opt(poll, 1)] === 1, { message: 'offline vote counted' });
    expect(bSeg.closes).toEqual([]);
    done();
  });

  it('on a poll that closed meanwhile are refused with poll-closed', async () => {
    const { alice, bob, roomId, name, head, aSeg, bSeg, bobSocket, done } = await setup();
    const poll = await createPoll(alice, roomId);
    await waitFor(() => pollsOf(head.doc).has(poll.id));
    bobSocket.disconnect();
    await waitFor(() => bobSocket.status === 'disconnected', { message: 'offline' });
    vote(bSeg, bob, poll.id, [opt(poll, 0)]);
    expect((await alice.api('POST', `/api/polls/${poll.id}/close`)).status).toBe(200);
    void bobSocket.connect();
    await waitFor(() => bSeg.closes.includes('poll-closed'), { message: 'refusal on reconnect' });
    bSeg.provider.destroy();
    expect(voteRows(server, poll.id)).toEqual([]);
    expect(votesOf(server.app.collab.hocuspocus.documents.get(name)!).size).toBe(0);
    expect(votesOf(aSeg.doc).size).toBe(0);
    expect(pollsOf(head.doc).get(poll.id)!.voterCount).toBe(0);
    done();
  });
});
