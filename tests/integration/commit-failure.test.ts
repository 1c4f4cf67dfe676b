/**
 * Durable before anyone sees it, when the disk says no: a commit that fails (here a trigger makes
 * SQLite refuse the append, as a full disk would) must not be acknowledged to the author nor reach
 * any other member. The document reloads from disk, and once the disk accepts writes again the
 * author's client re-sends the message and it arrives, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, waitFor, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let seg: string;

beforeAll(async () => {
  server = await startServer({}, { rateLimits: TEST_LIMITS });
  [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
  seg = `room:${(await makeRoom(alice, [bob])).id}:0`;
});
afterAll(() => server.close());

describe('a failed commit', () => {
  it('is neither acknowledged nor seen by anyone, and the message arrives once the disk is back', async () => {
    const db = server.app.services.db;
    // bob watches on a raw socket: every frame it receives is recorded
    const watcher = new RawClient(server.wsUrl);
    const watched = await watcher.open(seg, bob.token);
    const author: OpenDoc = await openDoc(connectSocket(server.wsUrl), seg, alice.token);
    const control = post(author.doc, alice.id, 'before the disk fills');
    await acked(author.provider);
    await waitFor(() => watched.doc.getMap('messages').has(control), { message: 'positive control reaches bob' });

    db.exec(`CREATE TRIGGER disk_full BEFORE INSERT ON doc_updates WHEN NEW.name = '${seg}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    const id = post(author.doc, alice.id, 'written while the disk is full');
    // the author's socket is closed (its document must be re-synced from disk), with no acknowledgement
    await waitFor(() => watcher.socketClosed !== null || author.provider.configuration.websocketProvider.status !== 'connected', { message: 'sockets closed' });
    expect(watched.doc.getMap('messages').has(id)).toBe(false);
    expect(author.provider.hasUnsyncedChanges).toBe(true);
    expect(server.app.services.repos.messages.get(seg.split(':')[1], id)).toBeUndefined();

    db.exec('DROP TRIGGER disk_full');
    // the provider reconnects by itself; its sync step 2 carries the message again
    await acked(author.provider);
    const reader = new RawClient(server.wsUrl);
    const d = await reader.open(seg, bob.token);
    await waitFor(() => d.doc.getMap('receipts').has(id), { message: 'stored with a receipt after the disk is back' });
    expect(messagesOf(d.doc).get(id)?.text).toBe('written while the disk is full');
    expect(receiptsOf(d.doc).get(control)!.seq).toBeLessThan(receiptsOf(d.doc).get(id)!.seq);
    reader.close();
    watcher.close();
    author.provider.configuration.websocketProvider.destroy();
  });
});
