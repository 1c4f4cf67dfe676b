/**
 * Deleting what the device keeps for a user: IndexedDB databases (`msgr:<userId>:*`), Cache Storage
 * entries that are not the service worker's app shell, and the user's localStorage keys.
 *
 * `indexedDB.deleteDatabase` is blocked while another tab holds the database open; those tabs close
 * their documents on the logout broadcast, or when their connection gets `versionchange` (see
 * `SyncedDoc`), and the deletion then proceeds. Each deletion is awaited, with a time limit so that
 * a tab that never closes cannot hang the logout.
 */
import { isRoomDb, ME_KEY, SHELL_CACHE_PREFIX, userPrefix, WIPE_PENDING_KEY } from './keys.ts';
import { keysWithPrefix, readJson, removeKey, writeJson } from './storage.ts';

const DELETE_TIMEOUT_MS = 10_000;

/** Resolves true once the database is gone, false on error or time-out (it stays queued then). */
export function deleteDatabase(name: string, timeoutMs = DELETE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let req: IDBOpenDBRequest;
    try {
      req = indexedDB.deleteDatabase(name);
    } catch {
      return resolve(false);
    }
    const timer = setTimeout(() => resolve(false), timeoutMs);
    req.onsuccess = () => {
      clearTimeout(timer);
      resolve(true);
    };
    req.onerror = () => {
      clearTimeout(timer);
      resolve(false);
    };
  });
}

/** Names of the databases on this origin, or null where the browser cannot list them. */
export async function databaseNames(): Promise<string[] | null> {
  try {
    if (typeof indexedDB === 'undefined' || typeof indexedDB.databases !== 'function') return null;
    return (await indexedDB.databases()).map((d) => d.name ?? '').filter(Boolean);
  } catch {
    return null;
  }
}

/** Deletes every database whose name starts with the prefix, plus `known` (for browsers that cannot list). */
export async function deleteDatabasesWithPrefix(prefix: string, known: Iterable<string> = []): Promise<void> {
  const names = new Set([...known].filter((n) => n.startsWith(prefix)));
  for (const n of (await databaseNames()) ?? []) if (n.startsWith(prefix)) names.add(n);
  await Promise.all([...names].map((n) => deleteDatabase(n)));
}

/** The local copies of one room (after leaving it, being removed, or the room being deleted). */
export async function deleteRoomDatabases(userId: string, roomId: string): Promise<void> {
  const names = (await databaseNames()) ?? [];
  await Promise.all(names.filter((n) => isRoomDb(userId, roomId, n)).map((n) => deleteDatabase(n)));
}

/** Cache Storage: everything except the app shell (`msgr-shell-*`), which holds no user data. */
export async function deleteUserCaches(): Promise<void> {
  if (typeof caches === 'undefined') return; // not a secure context: no Cache Storage at all
  try {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => !n.startsWith(SHELL_CACHE_PREFIX)).map((n) => caches.delete(n)));
  } catch {
    // storage disabled
  }
}

export function deleteUserKeys(userId: string): void {
  for (const k of keysWithPrefix(userPrefix(userId))) removeKey(k);
  if (readJson<{ id?: string }>(ME_KEY)?.id === userId) removeKey(ME_KEY);
}

const pendingWipes = () => readJson<string[]>(WIPE_PENDING_KEY) ?? [];

/**
 * Everything of this user on this device. `knownDbs`: names to delete even if they cannot be listed.
 * The wipe is recorded first and cleared last, so that one cut short (the tab closed meanwhile) is
 * finished by `finishPendingWipes` at the next start.
 */
export async function wipeUserData(userId: string, knownDbs: Iterable<string> = []): Promise<void> {
  writeJson(WIPE_PENDING_KEY, [...new Set([...pendingWipes(), userId])]);
  deleteUserKeys(userId);
  const prefix = userPrefix(userId);
  await Promise.all([deleteDatabasesWithPrefix(prefix, knownDbs), deleteUserCaches()]);
  // a tab that had not yet seen the broadcast may have reopened a database meanwhile: one more pass
  await new Promise((r) => setTimeout(r, 300));
  await deleteDatabasesWithPrefix(prefix);
  const left = pendingWipes().filter((id) => id !== userId);
  if (left.length) writeJson(WIPE_PENDING_KEY, left);
  else removeKey(WIPE_PENDING_KEY);
}

/** Wipes that a closed tab left unfinished. */
export async function finishPendingWipes(): Promise<void> {
  for (const id of pendingWipes()) await wipeUserData(id);
}
