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
 * After the commit, `committed` listeners run (the output gate releases held frames), then each
 * operation's promise settles. Memory that depends on a write is updated only after its commit.
 */
import type { Db } from '../db/database.ts';

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
  /** Every operation of batch `epoch` is durable (or has failed and been reported). */
  committed(epoch: number): void;
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
  batches = 0;
  ops = 0;

  constructor(
    private db: Db,
    private events: WriteQueueEvents,
    /** The order of an operation queued without one (arrivals.ts: after every frame arrived so far). */
    private orderNow: () => number = () => 0,
  ) {}

  /** True while something queued is not yet on disk. */
  get dirty(): boolean {
    return this.entries.length > 0;
  }

  enqueue<T>(op: QueuedOp<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.entries.push({ op, order: op.order ?? this.orderNow(), resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now (also called directly on shutdown). */
  flush(): void {
    this.scheduled = false;
    const batch = this.entries;
    if (!batch.length) return;
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
    this.events.measured?.((performance.now() - t0) / 1000, batch.length);
    for (let i = 0; i < batch.length; i++) if (!results[i].ok) this.events.failed(batch[i].op.doc, results[i].value);
    this.events.committed(epoch);
    for (let i = 0; i < batch.length; i++) {
      if (results[i].ok) batch[i].resolve(results[i].value);
      else batch[i].reject(results[i].value);
    }
  }

  /**
   * One transaction for the batch. Fast path (`isolated` false): no savepoints, and the first
   * failure rolls the whole batch back (every operation is reported failed, to be retried isolated).
   * Operations must therefore be safe to run again: SQL only, side effects after their promise.
   */
  private commit(batch: Entry[], isolated: boolean): { ok: boolean; value: unknown }[] {
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.transaction(() => {
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
      })();
      return results;
    } catch (err) {
      // an operation threw (fast path), or the commit itself failed (disk full, I/O error):
      // nothing of this batch is durable
      return batch.map(() => ({ ok: false, value: err }));
    }
  }
}
