/**
 * Durable before anyone sees it, with the fsync off the event loop (server/db/wal-sync.ts): the
 * write queue commits without syncing and fsyncs the WAL on the thread pool. Until that fsync has
 * returned, neither the author's acknowledgement nor the broadcast to another member may leave the
 * server, although the message is already committed in SQLite. Here the test holds every fsync the
 * server asks for; the attacker's view is a raw socket recording every frame it receives.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, waitFor, apiClient, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, acked, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';

type Done = (err: NodeJS.ErrnoException | null) => void;
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let roomId: string;
let seg: string;
let hold = false;
let failNext = false;
const held: { fd: number; done: Done }[] = [];
const fatal: unknown[] = [];
const targets = new Set<string>();

beforeAll(async () => {
  server = await startServer({ sqliteSynchronous: 'FULL' }, {
    walFsync: ((fd: number, done: Done) => {
      targets.add(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (failNext) {
        failNext = false;
        return setImmediate(() => done(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })));
      }
      if (hold) held.push({ fd, done });
      else fs.fsync(fd, done);
    }),
    onDiskFatal: (err) => fatal.push(err),
  });
  [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
  roomId = (await makeRoom(alice, [bob])).id;
  seg = `room:${roomId}:0`;
});
afterAll(() => server.close());

/** HTTP answers (and others) waiting for the write queue's next fsync. */
const waiters = () => (server.app.collab.queue as unknown as { waiters: unknown[] }).waiters.length;

const release = () => {
  hold = false;
  for (const h of held.splice(0)) fs.fsync(h.fd, h.done);
};

describe('the fsync after a group commit', () => {
  it('holds the acknowledgement and the broadcast of a committed message until the WAL is fsynced', async () => {
    const watcher = new RawClient(server.wsUrl);
    const watched = await watcher.open(seg, bob.token);
    const author: OpenDoc = await openDoc(connectSocket(server.wsUrl), seg, alice.token);
    // positive control: with the disk answering, the message is acknowledged and reaches bob, and
    // an HTTP answer right after waits for nothing
    const control = post(author.doc, alice.id, 'with the disk answering');
    await acked(author.provider);
    await waitFor(() => watched.doc.getMap('messages').has(control), { message: 'control reaches bob' });
    expect((await apiClient(server.url, alice.token)('GET', `/api/rooms/${roomId}`)).status).toBe(200);
    expect(waiters()).toBe(0);
    expect([...targets]).toEqual([path.join(server.dataDir, 'messenger.db-wal')]);

    hold = true;
    const id = post(author.doc, alice.id, 'committed, not yet fsynced');
    // committed: the room's message index has it, and the server asked for its fsync
    await waitFor(() => server.app.services.repos.messages.get(roomId, id) !== undefined && held.length > 0, { message: 'commit and fsync request' });
    // an HTTP answer may have read the committed message: it waits for the fsync too
    let answered = false;
    const answer = apiClient(server.url, alice.token)('GET', `/api/rooms/${roomId}`).then((r) => ((answered = true), r));
    await waitFor(() => waiters() > 0, { message: 'the answer waits for the fsync' });
    expect(answered).toBe(false);
    expect(author.provider.hasUnsyncedChanges).toBe(true);
    expect(watched.doc.getMap('messages').has(id)).toBe(false);

    release();
    expect((await answer).status).toBe(200);
    await acked(author.provider);
    await waitFor(() => watched.doc.getMap('messages').has(id) && watched.doc.getMap('receipts').has(id), { message: 'message and receipt reach bob after the fsync' });
    watcher.close();
    author.provider.configuration.websocketProvider.destroy();
  });

  it('a failed fsync is fatal: what waited for it is never sent', async () => {
    const watcher = new RawClient(server.wsUrl);
    const watched = await watcher.open(seg, bob.token);
    const author: OpenDoc = await openDoc(connectSocket(server.wsUrl), seg, alice.token);
    failNext = true;
    const id = post(author.doc, alice.id, 'the disk fails under this one');
    await waitFor(() => fatal.length === 1, { message: 'the failed fsync is reported as fatal' });
    expect(String(fatal[0])).toContain('EIO');
    expect(author.provider.hasUnsyncedChanges).toBe(true);
    expect(watched.doc.getMap('messages').has(id)).toBe(false);
    watcher.close();
    author.provider.configuration.websocketProvider.destroy();
  });
});
