/**
 * Group commit without blocking the event loop on the disk.
 *
 * With `synchronous = FULL`, SQLite fsyncs the WAL inside every COMMIT. better-sqlite3 is
 * synchronous, so the event loop waits for the disk at each commit (a quarter of the busy time of
 * the write bench was that wait). The write queue instead commits its batches with
 * `synchronous = NORMAL` (the WAL frames are written, not yet synced) and then fsyncs the WAL file
 * itself, on libuv's thread pool. Nothing that depends on a batch is sent before that fsync has
 * returned (OutputGate), so "durable before anyone sees it" holds as with FULL, and the event loop
 * keeps validating and committing the next batch while the disk works. One fsync covers every
 * commit before it: under load one fsync makes several batches durable at once.
 *
 * Why this is as durable as FULL for the queue's commits: a WAL commit is durable once its frames
 * are on disk (SQLite recovers committed frames by their checksums and salts). fsync works on the
 * file, not the descriptor, so our fsync of the `-wal` file syncs the frames SQLite wrote. With
 * NORMAL, SQLite still syncs the WAL before every checkpoint and the WAL header when the file is
 * reused, so frames that were synced stay recoverable. Writes outside the queue (HTTP handlers) keep
 * the connection's own FULL setting. A failed fsync cannot be retried safely (the kernel may have
 * dropped the dirty pages and report success next time): the process must stop, and SQLite recovers
 * on restart from what is on disk. Nothing that waited for that fsync was sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './database.ts';

/** `fs.fdatasync`'s shape (tests pass one that holds the call). */
export type Fsync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

export interface Durability {
  /** Runs around each batch's transaction (e.g. commit without syncing). */
  beforeCommit(): void;
  afterCommit(): void;
  /** Makes every commit so far durable; `done` runs when it is, or with the error. */
  sync(done: (err: Error | null) => void): void;
  /** The same, synchronously (shutdown). */
  syncNow(): void;
  /** True when `sync` does anything (false: every commit is durable, or nothing ever is). */
  readonly deferred: boolean;
  close(): void;
}

/** Commits are as durable as the connection makes them: nothing to wait for after the commit. */
export const immediateDurability: Durability = {
  beforeCommit() {},
  afterCommit() {},
  sync(done) {
    done(null);
  },
  syncNow() {},
  deferred: false,
  close() {},
};

/**
 * The queue's commits with `synchronous = NORMAL`, made durable by an fsync of the WAL file off the
 * event loop. For a connection that runs with `synchronous = FULL` on a file database.
 */
export function walDurability(db: Db, fsync: Fsync = fs.fdatasync): Durability {
  if (db.memory) return immediateDurability;
  const walPath = `${db.name}-wal`;
  const normal = db.prepare('PRAGMA synchronous = NORMAL');
  const full = db.prepare('PRAGMA synchronous = FULL');
  let fd: number | null = null;
  let ino = -1;
  let closed = false;
  let inflight = 0;
  const closeFd = () => {
    if (fd !== null) fs.closeSync(fd);
    fd = null;
  };

  /** The WAL file as it is now (SQLite keeps it while a connection is open; a restore may replace it). */
  const walFd = (): number => {
    const st = fs.statSync(walPath);
    if (fd !== null && st.ino === ino) return fd;
    if (fd !== null) fs.closeSync(fd);
    fd = fs.openSync(walPath, 'r+');
    ino = fs.fstatSync(fd).ino;
    // a newly created WAL file must also be found after a power cut: sync its directory entry once
    const dir = fs.openSync(path.dirname(walPath), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
    return fd;
  };

  return {
    beforeCommit: () => void normal.run(),
    afterCommit: () => void full.run(),
    sync(done) {
      if (closed) return done(new Error('the database is closed'));
      let target: number;
      try {
        target = walFd();
      } catch (err) {
        return done(err as Error);
      }
      inflight++;
      fsync(target, (err) => {
        inflight--;
        // closed meanwhile: shutdown synced everything itself (syncNow), and the descriptor waited for us
        if (closed) {
          if (inflight === 0) closeFd();
          return done(null);
        }
        done(err);
      });
    },
    syncNow() {
      if (closed) return;
      fs.fdatasyncSync(walFd());
    },
    deferred: true,
    close() {
      closed = true;
      if (inflight === 0) closeFd();
    },
  };
}
