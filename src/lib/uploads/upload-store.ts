/**
 * The outbound upload queue on the device: one small IndexedDB database per user
 * (`msgr:<userId>:uploads`, one object store `items` keyed by item id) holding each item with its
 * Blob, so that a reload or a browser restart loses no file. The name starts with the user prefix,
 * so the logout wipe deletes it with the rest of the user's data.
 *
 * The connection closes itself on `versionchange` (another tab deleting the database at logout),
 * which unblocks the deletion; the next call opens it again unless `close()` was called.
 * Failures of IndexedDB (disabled, full) are reported to the caller, which keeps the item in memory.
 */
import { uploadsDbName } from '$lib/local/keys.ts';
import type { UploadRecord } from './queue-state.ts';

const STORE = 'items';

export interface UploadStore {
  all(): Promise<UploadRecord[]>;
  get(id: string): Promise<UploadRecord | undefined>;
  put(record: UploadRecord): Promise<void>;
  delete(id: string): Promise<void>;
  close(): void;
}

const done = <T>(req: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

export function openUploadStore(userId: string): UploadStore {
  const name = uploadsDbName(userId);
  let db: Promise<IDBDatabase> | null = null;
  let closed = false;

  const open = (): Promise<IDBDatabase> => {
    if (closed) return Promise.reject(new Error('upload store closed'));
    db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
      req.onsuccess = () => {
        const conn = req.result;
        conn.onversionchange = () => {
          conn.close();
          db = null;
        };
        resolve(conn);
      };
      req.onerror = () => {
        db = null;
        reject(req.error);
      };
    });
    return db;
  };

  const tx = async <T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const conn = await open();
    const t = conn.transaction(STORE, mode);
    const complete = new Promise<void>((resolve, reject) => {
      t.oncomplete = () => resolve();
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
    // the value once the transaction is durable (a put is not kept before `complete`)
    const [value] = await Promise.all([done(fn(t.objectStore(STORE))), complete]);
    return value;
  };

  return {
    all: () => tx('readonly', (s) => s.getAll() as IDBRequest<UploadRecord[]>),
    get: (id) => tx('readonly', (s) => s.get(id) as IDBRequest<UploadRecord | undefined>),
    put: async (record) => void (await tx('readwrite', (s) => s.put(record))),
    delete: async (id) => void (await tx('readwrite', (s) => s.delete(id))),
    close() {
      closed = true;
      void db?.then((c) => c.close()).catch(() => {});
      db = null;
    },
  };
}
