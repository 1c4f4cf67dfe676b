/**
 * The user's own changes in a segment copy that the server may not have, taken out of a copy that
 * is about to be dropped after a refusal, and planned as fresh writes on the new copy once it has
 * the server's state (docs/ARCHITECTURE.md, "Refusals").
 *
 * Capture (`captureUnsent`) cannot know what the server holds, so it keeps every entry that may be
 * an unsent change of this user: own messages without a receipt (posts), own edited messages,
 * every tombstone (own or admin deletes), own reactions and votes, each with the Yjs id of the item
 * holding the key's value in that copy and whether that item is deleted (a removed reaction).
 *
 * Planning (`planChange`) decides against the fresh copy, which holds exactly what the server has:
 * an item whose id the fresh state vector covers reached the server (nothing to do, unless it was
 * removed locally and the server still has it live); one it does not cover never did, and is
 * written again on top of the server's current value (never over a deleted message, never changing
 * the fields the server owns). Pure apart from Yjs; no I/O.
 */
import * as Y from 'yjs';
import { parseReactionKey, SEGMENT_MESSAGES, SEGMENT_REACTIONS, SEGMENT_RECEIPTS, SEGMENT_VOTES, type Message } from '$lib/protocol/schema';

export type UnsentMap = typeof SEGMENT_MESSAGES | typeof SEGMENT_REACTIONS | typeof SEGMENT_VOTES;

export interface Candidate {
  map: UnsentMap;
  key: string;
  /** Id of the item that held the key in the captured copy. */
  client: number;
  clock: number;
  /** The value there; null when the key had been removed (a reaction taken back). */
  value: unknown;
  /** A message without a receipt in that copy (a post, as far as that copy knew). */
  unacked: boolean;
}

/** One write to make on the fresh copy: set the value, or remove the key (value null). */
export interface Change {
  map: UnsentMap;
  key: string;
  value: unknown;
  /** A new message of the user (not on the server at all): shown as failed if it is refused. */
  post: boolean;
}

const MAPS: UnsentMap[] = [SEGMENT_MESSAGES, SEGMENT_REACTIONS, SEGMENT_VOTES];

function mine(map: UnsentMap, key: string, value: unknown, me: string, receipts: Y.Map<unknown>): boolean {
  if (map === SEGMENT_REACTIONS) return parseReactionKey(key)?.userId === me;
  if (map === SEGMENT_VOTES) return key.endsWith(`|${me}`);
  const m = value as Message | null;
  if (!m || m.system) return false;
  if (m.deleted) return true; // own delete, or an admin's delete of someone else's message
  return m.author === me && (!receipts.has(key) || m.editedAt !== undefined);
}

/** Throws if the copy cannot be read (the caller then keeps it rather than lose its content). */
export function captureUnsent(doc: Y.Doc, me: string): Candidate[] {
  const receipts = doc.getMap(SEGMENT_RECEIPTS);
  const out: Candidate[] = [];
  for (const map of MAPS) {
    for (const [key, item] of doc.getMap(map)._map) {
      const value = item.deleted ? null : (item.content.getContent().at(-1) as unknown);
      if (value === null && map === SEGMENT_MESSAGES) continue; // never removed by the protocol
      if (value === null ? map === SEGMENT_REACTIONS && parseReactionKey(key)?.userId === me : mine(map, key, value, me, receipts)) {
        out.push({ map, key, client: item.id.client, clock: item.id.clock, value: value === null ? null : structuredClone(value), unacked: map === SEGMENT_MESSAGES && !receipts.has(key) });
      }
    }
  }
  return order(out);
}

/** New messages first, in writing order, so that reactions and edits follow what they refer to. */
function order(items: Candidate[]): Candidate[] {
  const rank = (c: Candidate) => (c.map === SEGMENT_MESSAGES ? 0 : 1);
  const created = (c: Candidate) => (c.map === SEGMENT_MESSAGES ? ((c.value as Message).createdAt ?? 0) : 0);
  return [...items].sort((a, b) => rank(a) - rank(b) || created(a) - created(b));
}

/** Later captures win over earlier ones for the same key; `without` keys are left out. */
export function mergeCandidates(older: Candidate[], newer: Candidate[], without: Set<string> = new Set()): Candidate[] {
  const byKey = new Map<string, Candidate>();
  for (const c of [...older, ...newer]) byKey.set(candidateKey(c), c);
  for (const k of without) byKey.delete(k);
  return order([...byKey.values()]);
}

export const candidateKey = (c: { map: string; key: string }) => `${c.map}\u0000${c.key}`;

const same = (a: unknown, b: unknown) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sorted(x)]));
  return v;
}

/** What to write on `doc` (the server's state) for this candidate, or null when nothing is missing. */
export function planChange(c: Candidate, doc: Y.Doc, me: string): Change | null {
  const sv = Y.decodeStateVector(Y.encodeStateVector(doc));
  const reached = (sv.get(c.client) ?? 0) > c.clock;
  const map = doc.getMap(c.map);
  const current = map._map.get(c.key);
  const live = current && !current.deleted ? (current.content.getContent().at(-1) as unknown) : undefined;
  if (reached) {
    // the value reached the server; a local removal of it may not have
    const removedHere = c.value === null && current && !current.deleted && current.id.client === c.client && current.id.clock === c.clock;
    return removedHere ? { map: c.map, key: c.key, value: null, post: false } : null;
  }
  if (c.value === null) return null; // set and removed again before the server saw either
  if (c.map !== SEGMENT_MESSAGES) return live !== undefined && same(live, c.value) ? null : { map: c.map, key: c.key, value: c.value, post: false };
  const mine = c.value as Message;
  const theirs = live as Message | undefined;
  // a message the server never had: posted again as it was (a tombstone too: written and deleted offline)
  if (!theirs) return mine.author === me ? { map: c.map, key: c.key, value: mine, post: !mine.deleted } : null;
  if (theirs.deleted) return null; // deleted meanwhile (by an admin): an edit has nothing left to change
  // the server's fields stay as the server has them; only what the user changed is written again
  const { mentions: _m, ...base } = theirs;
  const next: Message = mine.deleted
    ? { ...theirs, text: '', deleted: true }
    : { ...base, text: mine.text, ...(mine.editedAt !== undefined ? { editedAt: mine.editedAt } : {}), ...(mine.mentions?.length ? { mentions: mine.mentions } : {}) };
  return same(next, theirs) ? null : { map: c.map, key: c.key, value: next, post: false };
}

/** One change as its own transaction (its own update, so that a refusal names it alone). */
export function applyChange(doc: Y.Doc, change: Change): void {
  const map = doc.getMap(change.map);
  doc.transact(() => {
    if (change.value === null) map.delete(change.key);
    else map.set(change.key, change.value);
  });
}
