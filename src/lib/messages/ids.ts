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
