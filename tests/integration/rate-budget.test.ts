/**
 * The per-user message budget (SPEC §4) from outside: a refused update spends nothing, so an honest
 * client that waits and re-sends the same writes is not locked out; the limit itself still holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { newId } from '../helpers/collab.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let seg: string;
const LIMIT = RATE_LIMITS.messages.points;

beforeAll(async () => {
  // no reconnect grace: every update below is a live write, counted against `messages`
  server = await startServer({}, { rateLimits: { ...TEST_LIMITS, messages: RATE_LIMITS.messages }, backlogGraceMs: 0 });
  [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
  seg = `room:${(await makeRoom(alice, [bob])).id}:0`;
});
afterAll(() => server.close());

const posts = (author: string, n: number) => (doc: import('yjs').Doc) => {
  for (let i = 0; i < n; i++) {
    const id = newId();
    doc.getMap<Message>('messages').set(id, { id, author, text: `budget ${i}`, createdAt: Date.now() });
  }
};

describe('the per-user message budget', () => {
  it('refuses what goes over it, and the refused writes spend nothing', async () => {
    const c = new RawClient(server.wsUrl);
    await c.open(seg, bob.token);
    expect(await c.attempt(seg, c.craft(seg, posts(bob.id, LIMIT - 5)))).toEqual({ accepted: true, reason: null });
    c.close();

    const over = new RawClient(server.wsUrl);
    await over.open(seg, bob.token);
    expect(await over.attempt(seg, over.craft(seg, posts(bob.id, 10)))).toEqual({ accepted: false, reason: 'rate-limited' });
    over.close();

    // exactly what is left of the budget still goes through: the refused 10 were not counted
    const rest = new RawClient(server.wsUrl);
    await rest.open(seg, bob.token);
    expect(await rest.attempt(seg, rest.craft(seg, posts(bob.id, 5)))).toEqual({ accepted: true, reason: null });
    expect(await rest.attempt(seg, rest.craft(seg, posts(bob.id, 1)))).toEqual({ accepted: false, reason: 'rate-limited' });
    rest.close();
  });
});
