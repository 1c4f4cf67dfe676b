/**
 * Clients forget what retention erased (issue 9 §7, docs/PROTOCOL.md "Retention: what clients
 * forget"), in Debian's Chromium against the production build and the real server with
 * RETENTION_DAYS=30 and a clock the test moves. A user's browser holds an old sealed segment and
 * the boundary segment of one room, and an unsent message in the segment of another room that the
 * server seals meanwhile; it goes offline, the clock jumps 31 days, retention runs, the browser
 * comes back: without any user action the dropped segments' databases are gone, the erased text is
 * in no IndexedDB value any more, and the unsent message reaches the server in the open segment.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { makeRoom, makeUser, TEST_LIMITS, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { acked, connectSocket, messagesOf, openDoc, post, receiptsOf, type OpenDoc } from '../helpers/collab.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { DAY_MS } from '../../server/collab/retention.ts';
import type { Message, Receipt } from '../../src/lib/protocol/schema.ts';
import { browserSuite, requireChromium, shoot, WAIT } from './browser-harness.ts';
import { connection } from './timeline-page.ts';

const hasChromium = requireChromium('tests/e2e/retention.test.ts');

let offset = 0;
const clock = { now: () => Date.now() + offset };

/** Databases of the user in the page. */
const databases = (page: Page, userId: string) =>
  page.evaluate(async (prefix) => (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith(prefix)).sort(), `msgr:${userId}:`);

/**
 * Which of the user's databases hold each text in any stored value (y-indexeddb keeps Yjs updates,
 * where strings are UTF-8). Never creates a database that is gone meanwhile.
 */
const holding = (page: Page, userId: string, texts: string[]) =>
  page.evaluate(
    async ({ prefix, texts }) => {
      const found: Record<string, string[]> = {};
      for (const { name } of await indexedDB.databases()) {
        if (!name?.startsWith(prefix)) continue;
        const db = await new Promise<IDBDatabase | null>((resolve) => {
          const req = indexedDB.open(name);
          req.onupgradeneeded = () => req.transaction?.abort();
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => resolve(null);
        });
        if (!db) continue;
        for (const store of [...db.objectStoreNames]) {
          const values = await new Promise<unknown[]>((resolve) => {
            const q = db.transaction(store).objectStore(store).getAll();
            q.onsuccess = () => resolve(q.result);
            q.onerror = () => resolve([]);
          });
          for (const v of values) {
            const text = v instanceof Uint8Array ? new TextDecoder().decode(v) : JSON.stringify(v);
            for (const t of texts) if (text.includes(t)) (found[t] ??= []).includes(name) || found[t].push(name);
          }
        }
        db.close();
      }
      return found;
    },
    { prefix: `msgr:${userId}:`, texts },
  );

describe.runIf(hasChromium)('retention in the browser', () => {
  const suite = browserSuite({
    config: { segmentMaxMessages: 5, retentionDays: 30, sessionDays: 365 },
    options: { clock, retentionMs: 3_600_000, rateLimits: { ...TEST_LIMITS, messages: { ...RATE_LIMITS.messages, points: 1000 } } },
  });
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const sockets: ReturnType<typeof connectSocket>[] = [];
  const docs = new Map<string, OpenDoc>();

  /** Alice's copy of a segment (one socket for all). */
  async function segment(roomId: string, n: number): Promise<OpenDoc> {
    const name = `room:${roomId}:${n}`;
    let d = docs.get(name);
    if (!d) {
      if (!sockets.length) sockets.push(connectSocket(server.wsUrl));
      docs.set(name, (d = await openDoc(sockets[0], name, alice.token)));
    }
    return d;
  }
  async function write(roomId: string, texts: string[]): Promise<void> {
    for (const text of texts) {
      const open = (await alice.api('GET', `/api/rooms/${roomId}`)).body.room.openSegment as number;
      const d = await segment(roomId, open);
      const id = post(d.doc, alice.id, text);
      await acked(d.provider);
      await waitFor(() => receiptsOf(d.doc).get(id), { message: `receipt of ${text}` });
    }
  }

  beforeAll(async () => {
    server = suite.server;
    [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
  });

  it('deletes dropped segments, erases expired text from the kept copies and re-posts unsent messages, without user action', async () => {
    // day 0. Room A: segment 0 fills (the group's membership line and four messages) and is sealed;
    // segment 1 gets two messages (the boundary)
    const roomA = (await makeRoom(alice, [bob], { name: '보관 정책' })).id;
    await write(roomA, ['OLDSECRET one', 'OLDSECRET two', 'OLDSECRET three', 'OLDSECRET four', 'BOUNDARYOLD one', 'BOUNDARYOLD two']);
    // Room B: two messages in segment 0, still open
    const roomB = (await makeRoom(alice, [bob], { name: '오프라인 방' })).id;
    await write(roomB, ['ROOMBOLD one', 'ROOMBOLD two']);

    // bob's browser reads both rooms: both of A's segments and B's segment 0 are on the device
    const context = await suite.newContext(bob, { viewport: { width: 1280, height: 800 }, locale: 'ko-KR' });
    const page = await context.newPage();
    await page.goto(`${server.url}/rooms/${roomA}`);
    await page.getByTestId('message').filter({ hasText: 'OLDSECRET one' }).waitFor({ timeout: WAIT });
    await page.getByTestId('message').filter({ hasText: 'BOUNDARYOLD two' }).waitFor({ timeout: WAIT });
    await page.getByTestId('room-link').filter({ hasText: '오프라인 방' }).click();
    await page.getByTestId('message').filter({ hasText: 'ROOMBOLD two' }).waitFor({ timeout: WAIT });
    const db = (room: string, n: number) => `msgr:${bob.id}:room:${room}:${n}`;
    await expect.poll(() => holding(page, bob.id, ['OLDSECRET', 'BOUNDARYOLD', 'ROOMBOLD']), { timeout: WAIT }).toEqual({
      OLDSECRET: [db(roomA, 0)],
      BOUNDARYOLD: [db(roomA, 1)],
      ROOMBOLD: [db(roomB, 0)],
    });

    // offline, bob writes in room B: it lands in B's segment 0 on the device, never on the server
    await context.setOffline(true);
    await expect.poll(() => connection(page), { timeout: WAIT }).toBe('offline');
    const box = page.getByLabel('메시지', { exact: true });
    await box.fill('UNSENTBOB written offline');
    await box.press('Enter');
    await expect.poll(async () => (await holding(page, bob.id, ['UNSENTBOB'])).UNSENTBOB, { timeout: WAIT }).toEqual([db(roomB, 0)]);

    // meanwhile B's segment 0 fills and is sealed; twenty days later both rooms get a kept message
    await write(roomB, ['ROOMBOLD three', 'ROOMBOLD four']);
    offset = 20 * DAY_MS;
    await write(roomA, ['KEEPME recent']);
    await write(roomB, ['ROOMBKEEP recent']);
    expect((await alice.api('GET', `/api/rooms/${roomB}`)).body.room.openSegment).toBe(1);

    // day 31: retention drops both segments 0 and prunes A's boundary segment
    offset = 31 * DAY_MS;
    const result = await server.app.collab.retention.run();
    // A: the line, 4 old and 2 boundary messages; B: the line and 4 messages
    expect(result).toMatchObject({ segmentsDropped: 2, messagesErased: 12 });

    // the browser comes back; nobody touches anything
    await context.setOffline(false);
    await expect.poll(() => connection(page), { timeout: WAIT }).toBe('online');

    // the unsent message reaches the server, in B's open segment, with a receipt
    const open = await segment(roomB, 1);
    await waitFor(
      () => {
        const m = [...messagesOf(open.doc).values()].find((x: Message) => x.text === 'UNSENTBOB written offline');
        return m && (receiptsOf(open.doc).get(m.id) as Receipt | undefined)?.movedTo === undefined && receiptsOf(open.doc).get(m.id);
      },
      { timeout: 20_000, message: 'the unsent message in the open segment' },
    );
    await page.getByTestId('message').filter({ hasText: 'UNSENTBOB written offline' }).and(page.locator(':not([data-pending])')).waitFor({ timeout: WAIT });

    // the dropped segments' databases are gone; the kept ones stay
    await expect.poll(() => databases(page, bob.id), { timeout: 20_000 }).not.toContain(db(roomA, 0));
    await expect.poll(() => databases(page, bob.id), { timeout: 20_000 }).not.toContain(db(roomB, 0));
    expect(await databases(page, bob.id)).toEqual(expect.arrayContaining([db(roomA, 1), db(roomB, 1)]));

    // no stored value on the device holds the erased text; what is kept is still there
    await expect.poll(() => holding(page, bob.id, ['OLDSECRET', 'BOUNDARYOLD', 'ROOMBOLD']), { timeout: 20_000 }).toEqual({});
    const kept = await holding(page, bob.id, ['KEEPME', 'UNSENTBOB']);
    expect(kept.KEEPME).toEqual([db(roomA, 1)]);
    expect(kept.UNSENTBOB).toContain(db(roomB, 1));

    // and room A shows only what is kept, with the policy at the top
    await page.getByTestId('room-link').filter({ hasText: '보관 정책' }).click();
    await page.getByTestId('message').filter({ hasText: 'KEEPME recent' }).waitFor({ timeout: WAIT });
    expect(await page.getByTestId('message').filter({ hasText: /OLDSECRET|BOUNDARYOLD/ }).count()).toBe(0);
    await page.getByTestId('retention-note').waitFor({ timeout: WAIT });
    await shoot(page, 'retention-room-desktop-ko-light');
    for (const s of sockets) s.destroy();
  }, 90_000);
});
