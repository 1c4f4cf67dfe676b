/**
 * Adds the FTS5 terms of new search rows in batches, through the write queue.
 *
 * The commit of an accepted update writes its messages' `search_messages` rows (the text, where
 * each counts). Their terms are added later, many rows in one queued operation: FTS5 writes a new
 * index segment per transaction and merges segments as they accumulate, so terms added with every
 * group commit (a few messages each under load) cost several times what the same terms cost in
 * batches of hundreds (docs/BENCHMARKS.md). Queries never miss a committed message: each query adds
 * the terms still pending first (SearchService.search). A crash leaves rows unindexed, not lost: the
 * first run after a start picks them up.
 */
import type { WriteQueue } from '../collab/write-queue.ts';
import type { SearchService } from './service.ts';
import type { Logger } from 'pino';

/** Rows per queued operation (about 10 ms of work), and how long new rows may wait for their terms. */
export const INDEX_BATCH = 500;
export const INDEX_DELAY_MS = 200;

export class SearchIndexer {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;

  constructor(private d: { queue: WriteQueue; search: SearchService; log: Logger; delayMs?: number }) {}

  /** New rows were committed: index them within the delay (one timer for all of them). */
  poke(): void {
    if (this.timer || this.running || this.stopped) return;
    this.timer = setTimeout(() => void this.run(), this.d.delayMs ?? INDEX_DELAY_MS);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    this.running = true;
    try {
      // a full batch: there may be more; go on right after its commit
      while (!this.stopped && (await this.d.queue.enqueue({ doc: null, run: () => this.d.search.indexPendingInTx(INDEX_BATCH) })) === INDEX_BATCH);
    } catch (err) {
      this.d.log.error({ err }, 'adding search terms failed; the next write retries');
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
