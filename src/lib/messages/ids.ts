/**
 * Client-generated message ids (SPEC §3: offline messages need ids). `crypto.randomUUID` exists
 * only in secure contexts, and intranet servers are often reached over plain http by IP, so the id
 * is 16 random bytes from `getRandomValues` (available everywhere), base64url: 22 chars of
 * [A-Za-z0-9_-], inside the protocol's 8–40.
 */
export function newMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * `createdAt` for a new message: the clock, but strictly above the last one given on this device
 * (kept in localStorage, so across reloads and tabs). Pending messages are ordered by `createdAt`,
 * and the server gives the seqs of one update's new messages in that order: two messages written in
 * the same millisecond, or before and after a reload (two Yjs client ids), keep their writing order.
 */
export function nextCreatedAt(key: string, now = Date.now()): number {
  let last = 0;
  try {
    last = Number(localStorage.getItem(key)) || 0;
  } catch {
    // storage disabled: the clock alone
  }
  const at = Math.max(now, last + 1);
  try {
    localStorage.setItem(key, String(at));
  } catch {
    // not kept
  }
  return at;
}
