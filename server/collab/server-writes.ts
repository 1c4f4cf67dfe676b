/**
 * The one way the server writes into a document: open a direct connection, transact with a typed
 * origin, release it (keeping the document warm until its debounced store).
 *
 * A document can finish unloading while a write is on its way to it (Hocuspocus hands out the
 * instance that is being unloaded). A write that landed on an instance that is no longer the live
 * one is repeated on the live instance, so a moved message and its `movedTo` marker can never end
 * up on two different generations of a document. Writers must therefore be idempotent (set the same
 * values again), which every server write is.
 */
import type { Document, Hocuspocus } from '@hocuspocus/server';
import type { ServerOrigin } from './origins.ts';

const MAX_ATTEMPTS = 5;

export type ServerWrite = (doc: Document) => void;

export async function writeServerDoc(hocuspocus: Hocuspocus, name: string, kind: ServerOrigin['context']['server'], write: ServerWrite): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const conn = await hocuspocus.openDirectConnection(name, { server: kind });
    const doc = conn.document!;
    try {
      await conn.transact(write);
    } finally {
      await conn.disconnect({ unloadImmediately: false });
    }
    if (!doc.isDestroyed && hocuspocus.documents.get(name) === doc) return;
    if (attempt >= MAX_ATTEMPTS) throw new Error(`server write to ${name}: the document kept unloading`);
  }
}

/** Reads from a document through a direct connection (the document is loaded if it is not). */
export async function readServerDoc<T>(hocuspocus: Hocuspocus, name: string, read: (doc: Document) => T): Promise<T> {
  const conn = await hocuspocus.openDirectConnection(name, { server: 'read' });
  try {
    return read(conn.document!);
  } finally {
    await conn.disconnect({ unloadImmediately: false });
  }
}
