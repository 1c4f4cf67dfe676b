/**
 * Persistence and group commit on a real (in-memory) SQLite: appends go through the write queue,
 * one transaction per batch; compaction drops only what it merged; a failing operation rolls back
 * alone. These are also the properties that let several processes share one database later.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openDatabase } from '../../server/db/database.ts';
import { documentsRepo } from '../../server/repos/documents.ts';
import { DocumentPersistence } from '../../server/collab/persistence.ts';
import { WriteQueue } from '../../server/collab/write-queue.ts';
import { serverOrigin } from '../../server/collab/origins.ts';

function setup(compactAfter = 50) {
  const db = openDatabase(':memory:');
  const repo = documentsRepo(db);
  const events = { committed: [] as number[], failed: [] as (string | null)[] };
  const queue = new WriteQueue(db, { durable: (e) => events.committed.push(e), failed: (doc) => events.failed.push(doc) });
  const persistence = new DocumentPersistence(repo, { now: () => 1 }, queue, compactAfter);
  return { db, repo, queue, events, persistence };
}

const ours = serverOrigin('receipts');
/** Commits what is queued and lets the commit's callbacks run (the covered row ids are taken there). */
const committed = async (queue: WriteQueue) => {
  queue.flush();
  await new Promise((r) => setImmediate(r));
};
const state = (doc: Y.Doc) => JSON.stringify(doc.getMap('messages').toJSON());
const loadInto = (p: DocumentPersistence, name: string) => {
  const doc = new Y.Doc();
  const loaded = p.load(name);
  if (loaded) Y.applyUpdate(doc, loaded.update);
  return { doc, ids: loaded?.ids ?? [] };
};
const track = (p: DocumentPersistence, doc: Y.Doc, name: string, ids: number[] = []) =>
  p.track(doc, name, ids, { stores: (o) => o === ours, exists: () => true });
const write = (doc: Y.Doc, key: string, value: unknown) => doc.transact(() => doc.getMap('messages').set(key, value), ours);

describe('document persistence with group commit', () => {
  it('queues every update of ours and commits a turn of them in one batch', async () => {
    const { repo, queue, persistence } = setup();
    const name = 'room:abcdefgh:0';
    const doc = new Y.Doc();
    track(persistence, doc, name);
    write(doc, 'a', { text: 'one' });
    write(doc, 'b', { text: 'two' });
    expect(queue.dirty).toBe(true);
    expect(repo.tailCount(name)).toBe(0); // not yet: the batch commits after this turn
    queue.flush();
    expect(repo.tailCount(name)).toBe(2);
    expect(queue.batches).toBe(1);
    expect(queue.dirty).toBe(false);
  });

  it('does not store updates it did not accept or write (relayed from elsewhere)', () => {
    const { repo, queue, persistence } = setup();
    const name = 'room:abcdefgh:0';
    const doc = new Y.Doc();
    track(persistence, doc, name);
    doc.transact(() => doc.getMap('messages').set('x', 1), { source: 'redis' });
    queue.flush();
    expect(repo.tailCount(name)).toBe(0);
  });

  it('compacts the tail into a snapshot and loads snapshot plus newer tail', async () => {
    const { repo, queue, persistence } = setup(50);
    const name = 'room:abcdefgh:0';
    const doc = new Y.Doc();
    track(persistence, doc, name);
    for (let i = 0; i < 60; i++) write(doc, `k${i}`, { text: `message ${i}` });
    await committed(queue);
    const compacted = persistence.compact(doc, name, false);
    queue.flush();
    await compacted;
    expect(repo.tailCount(name)).toBe(0);
    for (let i = 60; i < 65; i++) write(doc, `k${i}`, { text: `message ${i}` });
    queue.flush();
    expect(repo.tailCount(name)).toBe(5);
    expect(state(loadInto(persistence, name).doc)).toBe(state(doc));
  });

  it('never deletes tail rows it did not merge (another process appended them)', async () => {
    const { repo, queue, persistence } = setup(50);
    const name = 'room:abcdefgh:0';
    const doc = new Y.Doc();
    track(persistence, doc, name);
    write(doc, 'mine', { text: 'mine' });
    await committed(queue);
    // another process appends an update this instance never saw
    const other = new Y.Doc();
    other.getMap('messages').set('theirs', { text: 'theirs' });
    repo.append(name, Y.encodeStateAsUpdate(other));
    const compacted = persistence.compact(doc, name, true);
    queue.flush();
    await compacted;
    expect(repo.tailCount(name)).toBe(1);
    const reloaded = loadInto(persistence, name).doc.getMap('messages').toJSON();
    expect(Object.keys(reloaded).sort()).toEqual(['mine', 'theirs']);
  });

  it('covers the rows it was loaded from', async () => {
    const { repo, queue, persistence } = setup(50);
    const name = 'room:abcdefgh:0';
    const first = new Y.Doc();
    track(persistence, first, name);
    write(first, 'a', 1);
    write(first, 'b', 2);
    queue.flush();
    const { doc, ids } = loadInto(persistence, name);
    expect(ids).toHaveLength(2);
    track(persistence, doc, name, ids);
    const compacted = persistence.compact(doc, name, true);
    queue.flush();
    await compacted;
    expect(repo.tailCount(name)).toBe(0);
    expect(state(loadInto(persistence, name).doc)).toBe(state(doc));
  });

  it('rolls back a failing operation alone and reports its document', async () => {
    const { db, queue, events } = setup();
    db.exec('CREATE TABLE t (v INTEGER NOT NULL)');
    const ok = queue.enqueue({ doc: 'a', run: () => db.prepare('INSERT INTO t (v) VALUES (1)').run() });
    const bad = queue.enqueue({
      doc: 'b',
      run: () => {
        db.prepare('INSERT INTO t (v) VALUES (2)').run();
        throw new Error('boom');
      },
    });
    queue.flush();
    await ok;
    await expect(bad).rejects.toThrow('boom');
    expect(db.prepare('SELECT v FROM t').pluck().all()).toEqual([1]);
    expect(events.failed).toEqual(['b']);
    expect(events.committed).toHaveLength(1);
  });
});
