/**
 * Reactions and mentions over real providers: a reaction is the entry `reactions[<msg>|<me>|<emoji>]`
 * in the message's segment (add = set, remove = delete), so one user has at most one of each emoji on
 * a message; mentions ride on the message itself. Refusals of forged writes are in
 * attacker-features.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, sleep, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, acked, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { TEST_LIMITS } from '../helpers/server.ts';
import { SEGMENT_REACTIONS, reactionKey, parseReactionKey, type Reaction } from '../../src/lib/protocol/schema.ts';

/** Small enough to reach in a test, large enough for every other test's handful of writes per user. */
const MESSAGE_RATE = { points: 12, durationSec: 60, key: 'user' as const, description: 'test' };

let server: TestServer;
beforeAll(async () => {
  server = await startServer({}, { rateLimits: { ...TEST_LIMITS, messages: MESSAGE_RATE }, backlogGraceMs: 0 });
});
afterAll(() => server.close());

const reactionsOf = (doc: Y.Doc) => doc.getMap<Reaction>(SEGMENT_REACTIONS);
/** emoji -> user ids, for one message: what a client renders under it. */
function reactionSummary(doc: Y.Doc, messageId: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of reactionsOf(doc).keys()) {
    const k = parseReactionKey(key);
    if (k?.messageId === messageId) (out[k.emoji] ??= []).push(k.userId);
  }
  for (const users of Object.values(out)) users.sort();
  return out;
}

/** A room of alice and bob, each with a real provider on segment 0, and a message by alice. */
async function roomWithMessage() {
  const [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
  const room = await makeRoom(alice, [bob]);
  const name = `room:${room.id}:0`;
  const sockets = [connectSocket(server.wsUrl), connectSocket(server.wsUrl)];
  const [a, b] = await Promise.all([openDoc(sockets[0], name, alice.token), openDoc(sockets[1], name, bob.token)]);
  const messageId = post(a.doc, alice.id, 'lunch at noon?');
  await acked(a.provider);
  await waitFor(() => messagesOf(b.doc).has(messageId), { message: 'message reaches bob' });
  return { alice, bob, room, name, a, b, messageId, done: () => sockets.forEach((s) => s.destroy()) };
}

function react(side: OpenDoc, messageId: string, user: TestUser, emoji: string) {
  reactionsOf(side.doc).set(reactionKey(messageId, user.id, emoji), { at: Date.now() });
}

describe('reactions', () => {
  it("are added and removed by their user, and the other member sees both", async () => {
    const { bob, a, b, messageId, done } = await roomWithMessage();
    react(b, messageId, bob, '👍');
    await acked(b.provider);
    await waitFor(() => reactionSummary(a.doc, messageId)['👍']?.length === 1, { message: "bob's reaction at alice" });
    expect(reactionSummary(a.doc, messageId)).toEqual({ '👍': [bob.id] });

    reactionsOf(b.doc).delete(reactionKey(messageId, bob.id, '👍'));
    await acked(b.provider);
    await waitFor(() => Object.keys(reactionSummary(a.doc, messageId)).length === 0, { message: 'removal at alice' });
    expect(a.closes).toEqual([]);
    expect(b.closes).toEqual([]);
    done();
  });

  it('count once per user per emoji, even when two of my devices add the same one', async () => {
    const { alice, bob, name, a, b, messageId, done } = await roomWithMessage();
    const secondDevice = connectSocket(server.wsUrl);
    const b2 = await openDoc(secondDevice, name, bob.token);
    react(b, messageId, bob, '❤️');
    react(b2, messageId, bob, '❤️');
    react(b, messageId, bob, '😂');
    react(a, messageId, alice, '❤️');
    await Promise.all([acked(a.provider), acked(b.provider), acked(b2.provider)]);
    const expected = { '❤️': [alice.id, bob.id].sort(), '😂': [bob.id] };
    for (const side of [a, b, b2]) await waitFor(() => JSON.stringify(reactionSummary(side.doc, messageId)) === JSON.stringify(expected), { message: 'converged reactions' });
    expect(reactionsOf(a.doc).size).toBe(3);
    expect([a, b, b2].flatMap((s) => s.closes)).toEqual([]);
    secondDevice.destroy();
    done();
  });

  it('accept composed emoji (skin tones, families, flags) as one reaction each', async () => {
    const { bob, a, b, messageId, done } = await roomWithMessage();
    for (const emoji of ['👍🏽', '👨‍👩‍👧', '🇰🇷', '✅']) react(b, messageId, bob, emoji);
    await acked(b.provider);
    await waitFor(() => Object.keys(reactionSummary(a.doc, messageId)).length === 4, { message: 'four reactions at alice' });
    expect(b.closes).toEqual([]);
    done();
  });

  it('count toward the per-user message-write rate', async () => {
    const { bob, name, messageId, done } = await roomWithMessage();
    const c = new RawClient(server.wsUrl);
    await c.open(name, bob.token);
    const emoji = ['😀', '😁', '😂', '🤣', '😃', '😄', '😅', '😆', '😉', '😊', '😋', '😎', '😍', '😘', '🥰'];
    let accepted = 0;
    let refusal: string | null = null;
    for (const e of emoji) {
      const v = await c.attempt(name, c.craft(name, (doc) => doc.getMap(SEGMENT_REACTIONS).set(reactionKey(messageId, bob.id, e), { at: Date.now() })));
      if (!v.accepted) {
        refusal = v.reason;
        break;
      }
      accepted++;
      Y.applyUpdate(c.docs.get(name)!.doc, Y.encodeStateAsUpdate(server.app.collab.hocuspocus.documents.get(name)!));
    }
    expect(refusal).toBe('rate-limited');
    expect(accepted).toBe(MESSAGE_RATE.points);
    c.close();
    done();
  });
});

describe('mentions', () => {
  it('ride on the message: a message mentioning a member and @all is accepted and seen as written', async () => {
    const { alice, bob, a, b, done } = await roomWithMessage();
    const id = post(b.doc, bob.id, `@${alice.username} @all meeting moved`, { mentions: [alice.id, 'all'] });
    await acked(b.provider);
    await waitFor(() => messagesOf(a.doc).has(id), { message: 'mention at alice' });
    expect(messagesOf(a.doc).get(id)!.mentions).toEqual([alice.id, 'all']);
    expect(b.closes).toEqual([]);
    done();
  });
});
