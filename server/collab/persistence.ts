/**
 * Our own Yjs persistence on the shared better-sqlite3 handle.
 * - Every update applied to a loaded document is appended in the same synchronous call stack as the
 *   apply, i.e. before Hocuspocus sends the client its "synced" acknowledgement.
 * - Compaction (snapshot + drop covered tail) runs from the debounced onStoreDocument hook.
 * - Loading merges snapshot + tail.
 */
import * as Y from 'yjs';
import type { DocumentsRepo } from '../repos/documents.ts';
import type { Clock } from '../domain/deps.ts';

export class DocumentPersistence {
  constructor(
    private docs: DocumentsRepo,
    private clock: Clock,
    /** Compaction runs when the tail has at least this many rows (and always when a document unloads). */
    private compactAfter = 200,
  ) {}

  load(name: string): Uint8Array | null {
    const { snapshot, tail } = this.docs.load(name);
    if (!snapshot && tail.length === 0) return null;
    const parts: Uint8Array[] = [];
    if (snapshot) parts.push(new Uint8Array(snapshot));
    for (const row of tail) parts.push(new Uint8Array(row.data));
    return parts.length === 1 ? parts[0] : Y.mergeUpdates(parts);
  }

  /** Starts appending every update of a loaded document. Returns the detach function. */
  track(doc: Y.Doc, name: string, shouldStore: () => boolean): () => void {
    const onUpdate = (update: Uint8Array) => {
      if (shouldStore()) this.docs.append(name, update);
    };
    doc.on('update', onUpdate);
    return () => doc.off('update', onUpdate);
  }

  compact(doc: Y.Doc, name: string, force: boolean): void {
    if (!force && this.docs.tailCount(name) < this.compactAfter) return;
    // synchronous from here: no update can be appended between reading maxId and encoding the state
    const upTo = this.docs.maxUpdateId(name);
    if (upTo === 0) return;
    this.docs.compact(name, Y.encodeStateAsUpdate(doc), upTo, this.clock.now());
  }
}
