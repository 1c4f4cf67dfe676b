/**
 * Group commit: every durable write of the collaboration layer (appended updates, message
 * reservations, client-id bindings, votes) is queued here and committed with the others of the same
 * event-loop turn in ONE SQLite transaction, i.e. one fsync per batch under `synchronous = FULL`.
 *
 * Lifecycle of a batch: the first `enqueue` of a turn schedules a flush with `setImmediate` (after
 * the poll phase, so a burst of socket reads lands in one batch). The flush runs every queued
 * operation inside its own savepoint, so one failing operation rolls back alone and the rest commit.
 * better-sqlite3 is synchronous: the commit has finished when `flush` returns, and the next batch
 * starts collecting right away ("flushed when the previous commit finishes").
 *
 * Inside a batch the operations run in arrival order (`order`, see arrivals.ts), not in the order
 * they were queued: that is the order in which message reservations take their seqs.
 *
 * After the commit each operation's promise settles (memory that depends on a write is updated only
 * after its commit). Durability may follow the commit (wal-sync.ts: the batch commits without
 * syncing and the WAL is fsynced off the event loop): `durable(epoch)` then runs when the fsync
 * returns, and the output gate releases what waited for that batch. One fsync runs at a time and
 * covers every batch committed before it started; batches committed meanwhile wait for the next.
 */
import type { Db } from '../db/database.ts';
import { immediateDurability, type Durability } from '../db/wal-sync.ts';

export interface QueuedOp<T = unknown> {
  /** Document the operation belongs to (a failure poisons that document: see `failed`). */
  doc: string | null;
  run: () => T;
  /**
   * Where the operation runs in its batch: the arrival ticket of the client frame it commits
   * (arrivals.ts). Without one it runs after everything that had arrived when it was queued.
   */
  order?: number;
}

interface Entry {
  op: QueuedOp;
  order: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface WriteQueueEvents {
  /** Every operation of batch `epoch` (and of every batch before it) is durable, or has failed and been reported. */
  durable(epoch: number): void;
  /** The disk could not make committed batches durable (a failed fsync): the process must stop. */
  fatal?(err: unknown): void;
  /** An operation failed: its document holds state that is not on disk. */
  failed(doc: string | null, err: unknown): void;
  /** How long a batch took to commit (seconds) and how many operations it held (metrics). */
  measured?(seconds: number, ops: number): void;
}

export class WriteQueue {
  private entries: Entry[] = [];
  private scheduled = false;
  /** Number of the batch that is collecting now; batches below it are committed. */
  epoch = 1;
  /** The newest committed batch, and the newest durable one (<= committedEpoch). */
  private committedEpoch = 0;
  private durableEpoch = 0;
  private syncing = false;
  private waiters: { epoch: number; resolve: () => void }[] = [];
  private closed = false;
  /** A batch is waiting for the running fsync to return before it commits. */
  private waiting = false;
  /** An fsync failed: nothing committed from then on is ever announced durable (the process stops). */
  private broken = false;
  batches = 0;
  ops = 0;
  syncs = 0;
  /** Time spent committing batches (ms, for the bench's trace). */
  commitMs = 0;
  opsMs = 0;

  constructor(
    private db: Db,
    private events: WriteQueueEvents,
    /** The order of an operation queued without one (arrivals.ts: after every frame arrived so far). */
    private orderNow: () => number = () => 0,
    private durability: Durability = immediateDurability,
  ) {}

  /** True while something queued or committed is not yet durable. */
  get dirty(): boolean {
    return this.entries.length > 0 || this.durableEpoch < this.committedEpoch;
  }

  /**
   * The batch a frame sent now depends on: the one collecting (its state may include an update
   * queued in it), or, when nothing is queued, the newest committed one.
   */
  get pendingEpoch(): number {
    return this.entries.length > 0 ? this.epoch : this.committedEpoch;
  }

  enqueue<T>(op: QueuedOp<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.entries.push({ op, order: op.order ?? this.orderNow(), resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.onTurn);
      }
    });
  }

  /**
   * The end of the turn that queued something: commit it, unless an fsync is running. Then the
   * batch keeps collecting until that fsync returns (group commit: while the disk works, the next
   * batch grows; a commit costs about the pages it dirties, so fewer, larger batches cost less).
   */
  private onTurn = () => {
    this.scheduled = false;
    if (this.syncing) this.waiting = true;
    else this.flush();
  };

  /** Commits everything queued now (also called directly on shutdown). */
  flush(): void {
    this.scheduled = false;
    this.waiting = false;
    const batch = this.entries;
    // after close: never committed nor acknowledged; the clients send it again after the restart
    if (!batch.length || this.closed) return;
    this.entries = [];
    // in arrival order: Hocuspocus applies one socket's frames for different documents interleaved,
    // and the seqs a batch reserves must follow the order the frames arrived in (stable: operations
    // of equal order keep the order they were queued in)
    batch.sort((a, b) => a.order - b.order);
    const epoch = this.epoch++;
    const t0 = performance.now();
    let results = this.commit(batch, false);
    // an operation failed: run the batch again with a savepoint per operation, so it fails alone
    if (results.some((r) => !r.ok) && batch.length > 1) results = this.commit(batch, true);
    this.batches++;
    this.ops += batch.length;
    this.commitMs += performance.now() - t0;
    this.events.measured?.((performance.now() - t0) / 1000, batch.length);
    for (let i = 0; i < batch.length; i++) if (!results[i].ok) this.events.failed(batch[i].op.doc, results[i].value);
    this.committedEpoch = epoch;
    if (!this.durability.deferred) this.announce(epoch);
    else this.sync();
    for (let i = 0; i < batch.length; i++) {
      if (results[i].ok) batch[i].resolve(results[i].value);
      else batch[i].reject(results[i].value);
    }
  }

  /**
   * Null when nothing is pending; else a promise that settles once everything queued or committed
   * now is durable (an HTTP answer that may have read it waits for this).
   */
  whenDurable(): Promise<void> | null {
    if (!this.dirty) return null;
    const epoch = this.pendingEpoch;
    return new Promise((resolve) => this.waiters.push({ epoch, resolve }));
  }

  private announce(epoch: number): void {
    this.durableEpoch = epoch;
    this.events.durable(epoch);
    if (!this.waiters.length) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.epoch <= epoch ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  /** Starts an fsync for what is committed and not durable, unless one is running (it starts the next). */
  private sync(): void {
    if (this.syncing || this.broken || this.durableEpoch >= this.committedEpoch) return;
    this.syncing = true;
    const upTo = this.committedEpoch;
    this.syncs++;
    this.durability.sync((err) => {
      this.syncing = false;
      if (err) {
        // never retried (see wal-sync.ts): nothing that waited for it is ever sent
        this.broken = true;
        this.events.fatal?.(err);
        return;
      }
      // (flushDurably may have synced further meanwhile)
      if (upTo > this.durableEpoch) this.announce(upTo);
      // the batch that collected meanwhile commits now (and starts the next fsync)
      if (this.waiting) this.flush();
      else this.sync();
    });
  }

  /** Shutdown: commits and syncs what is queued; nothing queued later touches the database. */
  close(): void {
    this.flushDurably();
    this.closed = true;
  }

  /** Commits what is queued and makes every commit durable before returning (shutdown, retention). */
  flushDurably(): void {
    this.flush();
    if (!this.durability.deferred || this.broken || this.durableEpoch >= this.committedEpoch) return;
    this.durability.syncNow();
    this.announce(this.committedEpoch);
  }

  /**
   * One transaction for the batch. Fast path (`isolated` false): no savepoints, and the first
   * failure rolls the whole batch back (every operation is reported failed, to be retried isolated).
   * Operations must therefore be safe to run again: SQL only, side effects after their promise.
   */
  private commit(batch: Entry[], isolated: boolean): { ok: boolean; value: unknown }[] {
    const results: { ok: boolean; value: unknown }[] = [];
    this.durability.beforeCommit();
    try {
      this.db.transaction(() => {
        const tOps = performance.now();
        for (const e of batch) {
          if (!isolated) {
            results.push({ ok: true, value: e.op.run() });
            continue;
          }
          try {
            results.push({ ok: true, value: this.db.transaction(e.op.run)() });
          } catch (err) {
            results.push({ ok: false, value: err });
          }
        }
        this.opsMs += performance.now() - tOps;
      })();
      return results;
    } catch (err) {
      // an operation threw (fast path), or the commit itself failed (disk full, I/O error):
      // nothing of this batch is durable
      return batch.map(() => ({ ok: false, value: err }));
    } finally {
      this.durability.afterCommit();
    }
  }
}
