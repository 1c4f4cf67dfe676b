/**
 * Reading and compacting the y-indexeddb copies of documents outside a `SyncedDoc`: the offline
 * search reads the segments no view holds open, retention reads a dropped segment's copy for the
 * user's unsent messages before deleting it, and a copy is compacted after deletions so that
 * erased text leaves the device.
 *
 * y-indexeddb's layout: one database per document with an auto-incremented `updates` store of
 * Yjs updates (and a `custom` store). Reading never creates a database: a name that is gone by
 * the time it is opened aborts the upgrade instead of leaving an empty database behind, and the
 * connection closes as soon as the read is done (or when a deletion asks for it), so it never
 * blocks a `deleteDatabase`.
 */
import * as Y from 'yjs';
import { parseDocName } from '$lib/protocol/schema';
import { docDbName, userPrefix } from './keys.ts';
import { databaseNames } from './wipe.ts';

const UPDATES = 'updates';

function openExisting(name: string): Promise<IDBDatabase | null> {
  return new Promise((resolve) => {
    let req: IDBOpenDBRequest;
    try {
      req = indexedDB.open(name);
    } catch {
      return resolve(null);
    }
    let created = false;
    req.onupgradeneeded = () => {
      // the database did not exist (deleted meanwhile): do not create it
      created = true;
      req.transaction?.abort();
    };
    req.onsuccess = () => {
      const db = req.result;
      if (created || !db.objectStoreNames.contains(UPDATES)) {
        db.close();
        return resolve(null);
      }
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = () => resolve(null);
    req.onblocked = () => resolve(null);
  });
}

/** The updates stored in a copy, or null when it does not exist (or cannot be read). */
export async function readUpdates(dbName: string): Promise<Uint8Array[] | null> {
  const db = await openExisting(dbName);
  if (!db) return null;
  try {
    return await new Promise<Uint8Array[] | null>((resolve) => {
      const tx = db.transaction(UPDATES, 'readonly');
      const req = tx.objectStore(UPDATES).getAll();
      req.onsuccess = () => resolve(req.result as Uint8Array[]);
      req.onerror = () => resolve(null);
      tx.onabort = () => resolve(null);
    });
  } catch {
    return null;
  } finally {
    db.close();
  }
}

/** A document loaded from its copy (the caller destroys it), or null. */
export async function readCopy(dbName: string): Promise<Y.Doc | null> {
  const updates = await readUpdates(dbName);
  if (!updates) return null;
  const doc = new Y.Doc();
  try {
    Y.transact(doc, () => updates.forEach((u) => Y.applyUpdate(doc, u)));
  } catch {
    doc.destroy();
    return null;
  }
  return doc;
}

export interface SegmentCopy {
  roomId: string;
  n: number;
  docName: string;
  dbName: string;
}

/** The segment copies this device keeps for the user (empty where the browser cannot list databases). */
export async function segmentCopies(userId: string): Promise<SegmentCopy[]> {
  const prefix = userPrefix(userId);
  const out: SegmentCopy[] = [];
  for (const dbName of (await databaseNames()) ?? []) {
    if (!dbName.startsWith(prefix)) continue;
    const docName = dbName.slice(prefix.length);
    const parsed = parseDocName(docName);
    if (parsed?.kind === 'segment' && docDbName(userId, docName) === dbName) out.push({ roomId: parsed.roomId, n: parsed.n, docName, dbName });
  }
  return out;
}

/**
 * Rewrites a copy as one update holding the document's current state, in one transaction: first
 * whatever another tab stored meanwhile is merged in (`origin` marks it as coming from the
 * persistence, so it is not stored again), then the state is added and every older update deleted.
 * After deletions (retention, a deleted message) the old text is then gone from the device: the
 * state of a document with garbage collection keeps no deleted content.
 */
export function compactCopy(db: IDBDatabase, doc: Y.Doc, origin: unknown): Promise<boolean> {
  return new Promise((resolve) => {
    let tx: IDBTransaction;
    try {
      tx = db.transaction(UPDATES, 'readwrite');
    } catch {
      return resolve(false); // closing, or deleted
    }
    const store = tx.objectStore(UPDATES);
    const keys = store.getAllKeys();
    const values = store.getAll();
    values.onsuccess = () => {
      const stored = values.result as Uint8Array[];
      const last = (keys.result as number[]).at(-1);
      try {
        Y.transact(doc, () => stored.forEach((u) => Y.applyUpdate(doc, u)), origin, false);
      } catch {
        tx.abort();
        return;
      }
      store.add(Y.encodeStateAsUpdate(doc));
      if (last !== undefined) store.delete(IDBKeyRange.upperBound(last));
    };
    tx.oncomplete = () => resolve(true);
    tx.onabort = () => resolve(false);
    tx.onerror = () => resolve(false);
  });
}
