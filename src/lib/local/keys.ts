/**
 * Every name the client keeps on the device, in one place. Whatever belongs to a user starts with
 * `msgr:<userId>:` (IndexedDB databases, localStorage keys, BroadcastChannels), so that two users of
 * one browser never share anything and logout can find and delete all of it by prefix.
 */

/** The signed-in user as `/api/me` last returned it: the app boots from it with no network. */
export const ME_KEY = 'msgr:me';
/** `/api/config` as last fetched (public, not user data): message limits are known offline too. */
export const CONFIG_KEY = 'msgr:config';
/** Set by a logout that could not reach the server: the next online start ends the server session. */
export const LOGOUT_PENDING_KEY = 'msgr:logout-pending';
/** User ids whose local data is being deleted: a wipe cut short (tab closed) is finished at the next start. */
export const WIPE_PENDING_KEY = 'msgr:wipe-pending';
/** The tab-to-tab channel for session events (login, logout). */
export const TAB_CHANNEL = 'msgr';
/** Cache Storage names of the service worker's app shell: kept on logout (no user data in them). */
export const SHELL_CACHE_PREFIX = 'msgr-shell-';

export const userPrefix = (userId: string) => `msgr:${userId}:`;
/** IndexedDB database of one document (y-indexeddb keeps one database per document). */
export const docDbName = (userId: string, docName: string) => `${userPrefix(userId)}${docName}`;
/** BroadcastChannel relaying one document's updates between this user's tabs. */
export const docChannelName = (userId: string, docName: string) => `${userPrefix(userId)}${docName}`;
/** localStorage: the receipt seq up to which the user has read a room. */
export const readKey = (userId: string, roomId: string) => `${userPrefix(userId)}read:${roomId}`;
/** localStorage: own messages the server refused, kept for retry. */
export const failedKey = (userId: string, roomId: string) => `${userPrefix(userId)}failed:${roomId}`;
/** localStorage: own changes taken out of a refused document copy, until they are written again. */
export const unsentKey = (userId: string, docName: string) => `${userPrefix(userId)}unsent:${docName}`;
/** localStorage: posts not yet written into a document (paced under the server's rate limit). */
export const outboxKey = (userId: string, roomId: string) => `${userPrefix(userId)}outbox:${roomId}`;
/** localStorage: when this device's recent writes went out (the client side of the rate limit). */
export const writesKey = (userId: string) => `${userPrefix(userId)}writes`;
/** localStorage: the last `createdAt` given to a message on this device (kept strictly increasing). */
export const clockKey = (userId: string) => `${userPrefix(userId)}clock`;
/** IndexedDB: files waiting to be uploaded and sent (the outbound upload queue, with their Blobs). */
export const uploadsDbName = (userId: string) => `${userPrefix(userId)}uploads`;
/** BroadcastChannel: this user's tabs tell each other about the upload queue (changes, progress). */
export const uploadsChannelName = (userId: string) => `${userPrefix(userId)}uploads`;
/** localStorage: per segment document, the oldest receipt its local copy held (retention skips copies with nothing to erase). */
export const retentionKey = (userId: string) => `${userPrefix(userId)}retention`;
/** localStorage: when this user first signed in on this device (messages before it count as read). */
export const sinceKey = (userId: string) => `${userPrefix(userId)}since`;

/** Database names of a room's documents: the head `room:<id>` and its segments `room:<id>:<n>`. */
export function isRoomDb(userId: string, roomId: string, dbName: string): boolean {
  const head = docDbName(userId, `room:${roomId}`);
  return dbName === head || dbName.startsWith(head + ':');
}
