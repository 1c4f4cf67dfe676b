/**
 * Message search results as the app shows them, from the server (`/api/search`) or from the
 * device's own copies (offline search), and the rules both follow: the same tokenizer
 * (`tokenize.ts`: `matches`, `snippet`), the same ranking (messages where every query term is a
 * whole word first, then newest first) and the same filters (room, sender, day range in the
 * user's time zone, files only). Pure: no I/O, no Yjs.
 */
import type { Message, Receipt } from '$lib/protocol/schema';
import { indexTerms, matches, queryTerms, searchableText, snippet, type Term } from './tokenize.ts';

export interface Snippet {
  text: string;
  /** [start, end) ranges in UTF-16 units of `text`. */
  highlights: [number, number][];
}

export interface SearchHit {
  roomId: string;
  messageId: string;
  /** The segment the message counts in (where the room view finds it). */
  segment: number;
  senderId: string;
  /** Server receive time; for a message the server does not have yet, its `createdAt`. */
  at: number;
  snippet: Snippet;
  /** Found on this device only: written here and not acknowledged by the server yet. */
  pending: boolean;
}

/** The filters of the advanced search; dates are `YYYY-MM-DD` days, inclusive, in the user's zone. */
export interface SearchFilters {
  roomId: string | null;
  senderId: string | null;
  dateFrom: string | null;
  dateTo: string | null;
  filesOnly: boolean;
}

export const NO_FILTERS: SearchFilters = { roomId: null, senderId: null, dateFrom: null, dateTo: null, filesOnly: false };

/** A message as the device holds it: in a segment copy (with its receipt, if any) or in the outbox. */
export interface LocalEntry {
  roomId: string;
  segment: number;
  message: Message;
  receipt: Receipt | null;
}

export { searchableText };

/** Every term is a whole word of the text (회의 in "회의 자료", not only inside 회의록을): ranked first. */
export function wholeWords(text: string, terms: Term[]): boolean {
  const words = new Set(indexTerms(text).words.split(' '));
  return terms.every((t) => words.has(t.word));
}

/** `YYYY-MM-DD` → local midnight (ms) in the browser's time zone; null for anything else. */
export function localDayStart(day: string | null): number | null {
  const m = day ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(day) : null;
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? null : d.getTime();
}

/** The inclusive day range as [from, to) in ms (either side open: null). */
export function dayRange(filters: Pick<SearchFilters, 'dateFrom' | 'dateTo'>): { from: number | null; to: number | null } {
  const from = localDayStart(filters.dateFrom);
  const last = localDayStart(filters.dateTo);
  let to: number | null = null;
  if (last !== null) {
    const d = new Date(last);
    d.setDate(d.getDate() + 1); // the next local midnight (a DST day is 23 or 25 hours)
    to = d.getTime();
  }
  return { from, to };
}

export interface LocalSearchOptions {
  filters: SearchFilters;
  /** Per room: messages received before it are erased by retention (0: none). */
  horizon?: (roomId: string) => number;
  /** Only entries without a receipt (what the server cannot know yet). */
  pendingOnly?: boolean;
}

/** The offline search: the device's entries that match, ranked as the server ranks them. */
export function searchEntries(entries: Iterable<LocalEntry>, query: string, opts: LocalSearchOptions): SearchHit[] {
  const terms = queryTerms(query);
  if (!terms.length) return [];
  const { filters } = opts;
  const { from, to } = dayRange(filters);
  const found: { hit: SearchHit; exact: boolean }[] = [];
  for (const e of dedupe(entries)) {
    const m = e.message;
    if (filters.roomId && e.roomId !== filters.roomId) continue;
    if (filters.senderId && m.author !== filters.senderId) continue;
    if (filters.filesOnly && !m.attachments?.length) continue;
    if (opts.pendingOnly && e.receipt) continue;
    const at = e.receipt?.at ?? m.createdAt;
    if (e.receipt && at < (opts.horizon?.(e.roomId) ?? 0)) continue;
    if ((from !== null && at < from) || (to !== null && at >= to)) continue;
    const text = searchableText(m);
    if (text === null || !matches(text, terms)) continue;
    found.push({
      exact: wholeWords(text, terms),
      hit: { roomId: e.roomId, messageId: m.id, segment: e.receipt?.movedTo ?? e.segment, senderId: m.author, at, snippet: snippet(text, terms), pending: !e.receipt },
    });
  }
  found.sort((a, b) => Number(b.exact) - Number(a.exact) || b.hit.at - a.hit.at || (a.hit.messageId < b.hit.messageId ? -1 : 1));
  return found.map((f) => f.hit);
}

/**
 * One entry per message (room + id), as the timeline merges segments: a copy marked `movedTo`
 * another segment is skipped, an accepted copy wins over a pending one.
 */
function* dedupe(entries: Iterable<LocalEntry>): Iterable<LocalEntry> {
  const byKey = new Map<string, LocalEntry>();
  for (const e of entries) {
    if (e.receipt?.movedTo !== undefined && e.receipt.movedTo !== e.segment) continue;
    const key = hitKey({ roomId: e.roomId, messageId: e.message.id });
    const prev = byKey.get(key);
    if (prev && (prev.receipt || !e.receipt)) continue;
    byKey.set(key, e);
  }
  yield* byKey.values();
}

export const hitKey = (h: { roomId: string; messageId: string }) => `${h.roomId}\u0000${h.messageId}`;

/**
 * Online: the server's results first, in its order, then what only this device has (messages not
 * acknowledged yet), each message once.
 */
export function mergeHits(server: readonly SearchHit[], local: readonly SearchHit[]): SearchHit[] {
  const seen = new Set<string>();
  const out: SearchHit[] = [];
  for (const h of [...server, ...local]) {
    const key = hitKey(h);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h);
  }
  return out;
}

/** The filters that narrow the search, counted for the "Filters (2)" button. */
export function activeFilters(f: SearchFilters): number {
  return Number(!!f.roomId) + Number(!!f.senderId) + Number(!!(f.dateFrom || f.dateTo)) + Number(f.filesOnly);
}

/** Splits a snippet into plain and highlighted pieces (rendered as text and <mark>, never as HTML). */
export function snippetParts(s: Snippet): { text: string; mark: boolean }[] {
  const parts: { text: string; mark: boolean }[] = [];
  let at = 0;
  for (const [start, end] of [...s.highlights].sort((a, b) => a[0] - b[0])) {
    const a = Math.max(at, Math.min(start, s.text.length));
    const b = Math.max(a, Math.min(end, s.text.length));
    if (a > at) parts.push({ text: s.text.slice(at, a), mark: false });
    if (b > a) parts.push({ text: s.text.slice(a, b), mark: true });
    at = b;
  }
  if (at < s.text.length) parts.push({ text: s.text.slice(at), mark: false });
  return parts;
}
