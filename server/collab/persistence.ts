/**
 * Our own Yjs persistence on the shared better-sqlite3 handle, through the group-commit queue.
 * - Every update applied to a loaded document by this process (a client connection of ours, or a
 *   server write) is queued for append in the same synchronous call stack as the apply. Nothing
 *   the update caused leaves the process before that batch commits (OutputGate).
 * - Updates with any other origin (one relayed from another process, later) are not stored here:
 *   the process that accepted them stored them.
 * - Compaction (snapshot + drop the tail rows merged into it) runs from the debounced
 *   onStoreDocument hook, also through the queue. It drops only rows this instance loaded or
 *   appended: rows another process appended meanwhile stay in the tail.
 * - A document whose append failed holds state that is not on disk: it is poisoned (no more
 *   appends, never compacted) until it unloads and is loaded again from disk.
 */
import * as Y from 'yjs';
import type { DocumentsRepo } from '../repos/documents.ts';
import type { Clock } from '../domain/deps.ts';
import type { WriteQueue } from './write-queue.ts';

/** What else must commit atomically with one appended update (bindings, receipts, votes). */
export interface AppendExtra<R> {
  /** The arrival ticket of the client frame this update came in (its place in the batch: write-queue.ts). */
  order?: number;
  run(): R;
  committed(result: R): void;
  failed(err: unknown): void;
}

export interface TrackHooks {
  /** Whether an update with this origin was accepted or written by this process. */
  stores(origin: unknown): boolean;
  /** Checked when the batch runs: false drops the append (the room was removed meanwhile). */
  exists(): boolean;
  /** The rest of the atomic write for this update, if any. */
  extra?(origin: unknown): AppendExtra<unknown> | null;
}

export class DocumentPersistence {
  /** Row ids merged into each loaded instance (loaded, or appended by it). */
  private covered = new WeakMap<Y.Doc, number[]>();
  private poisoned = new WeakSet<Y.Doc>();

  constructor(
    private docs: DocumentsRepo,
    private clock: Clock,
    private queue: WriteQueue,
    /** Compaction runs when the tail has at least this many rows (and always when a document unloads). */
    private compactAfter = 200,
  ) {}

  /** Snapshot + tail, merged; `ids` are the tail rows it contains. */
  load(name: string): { update: Uint8Array; ids: number[] } | null {
    const { snapshot, tail } = this.docs.load(name);
    if (!snapshot && tail.length === 0) return null;
    const parts: Uint8Array[] = [];
    if (snapshot) parts.push(new Uint8Array(snapshot));
    for (const row of tail) parts.push(new Uint8Array(row.data));
    return { update: parts.length === 1 ? parts[0] : Y.mergeUpdates(parts), ids: tail.map((r) => r.id) };
  }

  /** Starts appending the updates of a loaded instance; `loadedIds` are the rows it was loaded from. */
  track(doc: Y.Doc, name: string, loadedIds: number[], hooks: TrackHooks): () => void {
    const covered = [...loadedIds];
    this.covered.set(doc, covered);
    const onUpdate = (update: Uint8Array, origin: unknown) => {
      // checked now, in the apply's call stack: an instance destroyed later still had this update
      if (this.poisoned.has(doc) || doc.isDestroyed || !hooks.stores(origin)) return;
      const extra = hooks.extra?.(origin) ?? null;
      this.queue
        .enqueue({
          doc: name,
          order: extra?.order,
          run: () => {
            if (!hooks.exists()) return null;
            const id = this.docs.append(name, update);
            return { id, r: extra ? extra.run() : null };
          },
        })
        .then(
          (done) => {
            if (!done) return;
            // after the commit: a batch that is run again must not leave a rolled-back id here
            covered.push(done.id);
            extra?.committed(done.r);
          },
          (err) => {
            this.poisoned.add(doc);
            extra?.failed(err);
          },
        );
    };
    doc.on('update', onUpdate);
    return () => doc.off('update', onUpdate);
  }

  isPoisoned(doc: Y.Doc): boolean {
    return this.poisoned.has(doc);
  }

  /**
   * Queues a compaction. The state is encoded now; the rows it covers are those appended by
   * operations queued before this one (they run first, in order), taken when the batch runs.
   */
  compact(doc: Y.Doc, name: string, force: boolean): Promise<void> {
    const covered = this.covered.get(doc);
    if (!covered || covered.length === 0 || this.poisoned.has(doc)) return Promise.resolve();
    if (!force && covered.length < this.compactAfter) return Promise.resolve();
    const state = Y.encodeStateAsUpdate(doc);
    return this.queue.enqueue({
      doc: name,
      run: () => {
        if (this.poisoned.has(doc)) return;
        const ids = covered.splice(0);
        this.docs.compact(name, state, ids, this.clock.now());
      },
    });
  }
}
