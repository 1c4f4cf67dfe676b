/**
 * Group commit with the fsync off the event loop (server/db/wal-sync.ts): a batch is durable only
 * when an fsync that started after its commit has returned; one fsync runs at a time and covers
 * every batch committed before it; frames sent meanwhile depend on the right batch; a failed fsync
 * is fatal and makes nothing durable. A real SQLite file and the real WAL fsync are used.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { walDurability } from '../../server/db/wal-sync.ts';
import { WriteQueue } from '../../server/collab/write-queue.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wq-'));
  dirs.push(dir);
  const db = openDatabase(path.join(dir, 'x.db'), 'FULL');
  db.exec('CREATE TABLE t (v TEXT)');
  // the fsyncs the queue asks for, held until the test lets them run (really, on the WAL file)
  const held: { fd: number; done: (err: NodeJS.ErrnoException | null) => void }[] = [];
  const durability = walDurability(db, ((fd: number, done: (err: NodeJS.ErrnoException | null) => void) => held.push({ fd, done })));
  const durable: number[] = [];
  const fatal: unknown[] = [];
  const queue = new WriteQueue(db, { durable: (e) => durable.push(e), fatal: (e) => fatal.push(e), failed: () => {} }, () => 0, durability);
  const write = (v: string) => queue.enqueue({ doc: null, run: () => db.prepare('INSERT INTO t (v) VALUES (?)').run(v) });
  const runHeld = (err: NodeJS.ErrnoException | null = null) => {
    const h = held.shift()!;
    if (err) return h.done(err);
    fs.fsyncSync(h.fd);
    h.done(null);
  };
  return { db, dir, held, durable, fatal, queue, write, runHeld, durability };
}

describe('write queue: durability after the commit', () => {
  it('is durable only when the fsync returns, and that fsync is the WAL file’s', async () => {
    const { db, dir, held, durable, queue, write, runHeld } = setup();
    const p = write('a');
    expect(queue.pendingEpoch).toBe(queue.epoch); // a frame sent now depends on the collecting batch
    queue.flush();
    await p; // committed: visible in SQLite
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(1);
    expect(queue.dirty).toBe(true); // but not durable
    expect(durable).toEqual([]);
    expect(held).toHaveLength(1);
    expect(fs.readlinkSync(`/proc/self/fd/${held[0].fd}`)).toBe(path.join(dir, 'x.db-wal'));
    // nothing queued: a frame sent now depends on the committed batch, not on one that may never come
    expect(queue.pendingEpoch).toBe(1);
    runHeld();
    expect(durable).toEqual([1]);
    expect(queue.dirty).toBe(false);
    // the queue's commit ran with NORMAL; the connection is back to FULL for everyone else
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('runs one fsync at a time; the next covers every batch committed meanwhile', async () => {
    const { held, durable, queue, write, runHeld } = setup();
    const a = write('a');
    queue.flush();
    await a;
    const b = write('b');
    queue.flush();
    const c = write('c');
    queue.flush();
    await Promise.all([b, c]);
    expect(held).toHaveLength(1); // batches 2 and 3 wait for the fsync of batch 1 to return
    runHeld();
    expect(durable).toEqual([1]);
    expect(held).toHaveLength(1); // ... and one fsync then covers both
    runHeld();
    expect(durable).toEqual([1, 3]);
    expect(held).toHaveLength(0);
    expect(queue.syncs).toBe(2);
  });

  it('while an fsync runs, the next batch keeps collecting and commits when it returns', async () => {
    const { db, held, durable, queue, write, runHeld } = setup();
    const count = () => db.prepare('SELECT COUNT(*) FROM t').pluck().get();
    await write('a'); // committed at the end of its turn; its fsync is held
    expect(held).toHaveLength(1);
    const later = [write('b'), write('c')];
    await new Promise((r) => setImmediate(r)); // the turn that queued them has ended
    await new Promise((r) => setImmediate(r));
    expect(count()).toBe(1); // not committed: they wait for the running fsync
    runHeld();
    expect(durable).toEqual([1]);
    expect(count()).toBe(3); // committed in one batch as soon as it returned ...
    await Promise.all(later);
    expect(held).toHaveLength(1); // ... with its own fsync
    runHeld();
    expect(durable).toEqual([1, 2]);
    expect(queue.batches).toBe(2);
  });

  it('a failed fsync is fatal and makes nothing durable; shutdown syncs what is committed itself', async () => {
    const { held, durable, fatal, queue, write, runHeld, durability } = setup();
    const a = write('a');
    queue.flush();
    await a;
    runHeld(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    expect(fatal).toHaveLength(1);
    expect(durable).toEqual([]);
    expect(queue.dirty).toBe(true);

    // positive control on a fresh queue: flushDurably commits and syncs before it returns
    const s = setup();
    const p = s.write('b');
    s.queue.flushDurably();
    await p;
    expect(s.durable).toEqual([1]);
    expect(s.queue.dirty).toBe(false);
    s.runHeld(); // the background fsync started by the commit returns later: nothing more to do
    expect(s.durable).toEqual([1]);
    durability.close();
    expect(held).toHaveLength(0);
  });
});
