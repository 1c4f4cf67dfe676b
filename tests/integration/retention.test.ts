/**
 * Issue 9 §6–9 on the server, with a controllable clock: RETENTION_DAYS=30 erases what is older
 * everywhere on the server. A sealed segment of expired messages is dropped (later syncs and writes
 * refused); the boundary segment is pruned inside the document hooks and compacted; the search
 * index, files, pins and pin excerpts follow; the bytes are gone from the database file and the WAL;
 * an old copy cannot bring anything back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { attachmentOf, pdf, uploadTo } from '../helpers/uploads.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { DAY_MS } from '../../server/collab/retention.ts';
import type { Message, Pin } from '../../src/lib/protocol/schema.ts';

let offset = 0;
const clock = { now: () => Date.now() + offset };
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let roomId: string;
const docs: OpenDoc[] = [];

const open = async (user: TestUser, name: string) => {
  const d = await openDoc(connectSocket(server.wsUrl), name, user.token);
  docs.push(d);
  return d;
};
async function write(doc: OpenDoc, author: TestUser, lines: string[], extra: Partial<Message> = {}): Promise<string[]> {
  const ids = lines.map((t) => post(doc.doc, author.id, t, extra));
  await acked(doc.provider);
  await waitFor(() => ids.every((id) => receiptsOf(doc.doc).get(id)), { message: 'receipts' });
  return ids;
}
const search = async (user: TestUser, q: string) => (await user.api('GET', `/api/search?q=${encodeURIComponent(q)}`)).body.total as number;
const dbBytes = () => ['messenger.db', 'messenger.db-wal']
  .map((f) => path.join(server.dataDir, f))
  .filter((f) => fs.existsSync(f))
  .map((f) => fs.readFileSync(f).toString('latin1').toLowerCase())
  .join('\n');

beforeAll(async () => {
  // sessions outlive the jumps of the clock
  server = await startServer({ segmentMaxMessages: 5, retentionDays: 30, sessionDays: 365 }, {
    clock, rateLimits: { ...TEST_LIMITS, upload: { ...RATE_LIMITS.upload, points: 1000 }, search: { ...RATE_LIMITS.search, points: 1000 } },
    retentionMs: 3_600_000,
  });
  [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
  roomId = (await makeRoom(alice, [bob], { name: 'retention' })).id;
});
afterAll(async () => {
  for (const d of docs) d.provider.configuration.websocketProvider.destroy();
  await server.close();
});

describe('RETENTION_DAYS=30', () => {
  let oldIds: string[];
  let boundaryOld: string[];
  let keep: string[];
  let fileId: string;
  let bob0: OpenDoc;
  let bob1: OpenDoc;

  it('erases a 31-day-old message everywhere on the server, bytes included', async () => {
    // day 0: segment 0 fills with five messages (one with a file, one pinned) and is sealed;
    // two more go into segment 1
    const a0 = await open(alice, `room:${roomId}:0`);
    const up = await uploadTo(server, alice, roomId, 'oldfile.pdf', pdf('oldfilecontent'));
    fileId = up.body.file.id;
    oldIds = await write(a0, alice, ['OLDSECRET alpha', 'OLDSECRET bravo', 'OLDSECRET charlie', 'OLDSECRET delta']);
    oldIds.push(...(await write(a0, alice, ['OLDSECRET with file'], { attachments: [attachmentOf(up.body)] })));
    const a1 = await open(alice, `room:${roomId}:1`);
    boundaryOld = await write(a1, alice, ['BOUNDARYOLD one', 'BOUNDARYOLD two']);
    bob0 = await open(bob, `room:${roomId}:0`);
    bob1 = await open(bob, `room:${roomId}:1`);
    await waitFor(() => boundaryOld.every((id) => messagesOf(bob1.doc).get(id)), { message: 'bob has segment 1' });
    // day 20: messages that stay, and a pin of an old message (its pin line quotes it)
    offset = 20 * DAY_MS;
    keep = await write(a1, alice, ['KEEPME recent']);
    expect((await alice.api('POST', `/api/rooms/${roomId}/pins`, { messageId: oldIds[0], segment: 0 })).status).toBe(201);
    expect(await search(bob, 'oldsecret')).toBe(5);

    // day 31
    offset = 31 * DAY_MS;
    const result = await server.app.collab.retention.run();
    // 5 old and 2 boundary messages, and the day-0 line of the group's creation
    expect(result).toMatchObject({ segmentsDropped: 1, messagesErased: 8, filesErased: 1, pinsRemoved: 1 });

    // the dropped segment: bob's connection closed, reconnecting refused, its rows gone
    await waitFor(() => [...bob0.closes, ...bob0.denied].includes('not-found'), { message: 'segment 0 closed' });
    const raw = new RawClient(server.wsUrl);
    const opened = await raw.open(`room:${roomId}:0`, bob.token, { sync: false });
    expect(opened.denied ?? opened.closed).toBe('not-found');
    raw.close();
    const rows = server.app.services.db.prepare("SELECT COUNT(*) FROM doc_updates WHERE name = ?").pluck().get(`room:${roomId}:0`);
    expect(rows).toBe(0);

    // the boundary segment: pruned for everyone connected, the rest kept
    await waitFor(() => boundaryOld.every((id) => !messagesOf(bob1.doc).has(id)), { message: 'bob loses the erased messages' });
    expect(messagesOf(bob1.doc).get(keep[0])?.text).toBe('KEEPME recent');
    const serverDoc = server.app.collab.hocuspocus.documents.get(`room:${roomId}:1`);
    if (serverDoc) expect(JSON.stringify(Y.encodeStateAsUpdate(serverDoc).toString())).not.toContain('BOUNDARYOLD');

    // search, files, pins
    expect(await search(bob, 'oldsecret')).toBe(0);
    expect(await search(bob, 'boundaryold')).toBe(0);
    expect(await search(bob, 'keepme')).toBe(1);
    expect((await fetch(`${server.url}/api/files/${fileId}`, { headers: { authorization: `Bearer ${bob.token}` } })).status).toBe(404);
    expect(fs.readdirSync(path.join(server.dataDir, 'uploads', 'files'))).not.toContain(fileId);
    const head = await open(bob, `room:${roomId}`);
    await waitFor(() => head.doc.getMap('room').get('retentionHorizon') === result!.horizon, { message: 'horizon published' });
    expect([...head.doc.getMap<Pin>('pins').values()]).toEqual([]);
    expect([...head.doc.getMap('segments').keys()]).not.toContain('0');
    // the pin line quoted the erased message: its excerpt is emptied
    const a2 = await open(alice, `room:${roomId}:${(await alice.api('GET', `/api/rooms/${roomId}`)).body.room.openSegment}`);
    const all = () => new Map([...messagesOf(a1.doc).entries(), ...messagesOf(a2.doc).entries()]);
    expect([...all().values()].filter((m) => m.system?.type === 'pinned')).toHaveLength(1);
    await waitFor(() => [...all().values()].some((m) => m.system?.type === 'pinned' && m.system.excerpt === ''), { message: 'excerpt erased' });

    // the bytes: not in the database file, not in the WAL (text, index tokens and file name alike)
    const bytes = dbBytes();
    for (const secret of ['oldsecret', 'boundaryold', 'oldfile']) expect(bytes.includes(secret), secret).toBe(false);
    expect(bytes.includes('keepme')).toBe(true); // positive control: the grep can find what is kept

    // the run is recorded
    const runs = server.app.services.db.prepare('SELECT * FROM retention_runs').all() as any[];
    expect(runs.at(-1)).toMatchObject({ segments_dropped: 1, messages_erased: 8, files_erased: 1, pins_removed: 1 });
  });

  it('an old copy cannot bring erased messages back', async () => {
    // a client that still holds the erased entries re-sends them as new writes: refused, unchanged
    const c = new RawClient(server.wsUrl);
    const d = await c.open(`room:${roomId}:1`, alice.token);
    const before = JSON.stringify(messagesOf(server.app.collab.hocuspocus.documents.get(`room:${roomId}:1`)!).toJSON());
    const verdict = await c.attempt(`room:${roomId}:1`, c.craft(`room:${roomId}:1`, (doc) => {
      doc.getMap('messages').set(boundaryOld[0], { id: boundaryOld[0], author: alice.id, text: 'BOUNDARYOLD one', createdAt: clock.now() - 31 * DAY_MS });
    }));
    expect(verdict).toEqual({ accepted: false, reason: 'duplicate-id' });
    expect(JSON.stringify(messagesOf(server.app.collab.hocuspocus.documents.get(`room:${roomId}:1`)!).toJSON())).toBe(before);
    expect(d.doc.getMap('messages').has(boundaryOld[0])).toBe(false);
    c.close();
    // the dropped segment refuses writes as it refuses syncs
    const w = new RawClient(server.wsUrl);
    const seg0 = await w.open(`room:${roomId}:0`, alice.token, { sync: false });
    expect(seg0.denied ?? seg0.closed).toBe('not-found');
    w.close();
    expect(await search(alice, 'boundaryold')).toBe(0);
  });

  it('keeps new messages flowing, and a second run finds nothing more to erase', async () => {
    const open1 = await open(alice, `room:${roomId}:1`);
    await write(open1, alice, ['after retention']);
    const again = await server.app.collab.retention.run();
    expect(again).toMatchObject({ segmentsDropped: 0, messagesErased: 0 });
  });
});
