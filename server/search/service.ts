/**
 * Message search: the searchable rows are written inside the commit of the write they reflect (the
 * write path calls `indexInTx` / `removeInTx` from the accepted update's operation; room removal
 * calls `removeRoomInTx`), so they are never ahead of or behind the documents. The FTS5 terms of new
 * rows follow in batches (search/indexer.ts); edits and deletes of indexed rows change the terms in
 * the same commit, and every query first adds the terms still pending, so a query sees exactly what
 * is committed. A query returns only messages
 * in segments the user may read (`access.searchableSegments`), never deleted ones (a tombstone
 * removes the row), and never system lines (not indexed).
 *
 * Terms: src/lib/search/tokenize.ts (shared with the app's offline search). Ranking: messages where
 * every query term is a whole word (회의, not only inside 회의록을) first, then newest first.
 */
import * as Y from 'yjs';
import { SEGMENT_MESSAGES, type Message } from '../../src/lib/protocol/schema.ts';
import { ftsQuery, indexTerms, queryTerms, searchableText, snippet } from '../../src/lib/search/tokenize.ts';

export { searchableText };
import type { AccessPolicy } from '../auth/access.ts';
import { fail } from '../domain/errors.ts';
import type { DocumentsRepo } from '../repos/documents.ts';
import type { MessagesRepo } from '../repos/messages.ts';
import { authorToken, roomToken, scopeOf, segmentToken, type SearchRepo } from '../repos/search.ts';
import type { Db } from '../db/database.ts';

export interface SearchInput {
  query: string;
  roomId?: string | null;
  senderId?: string | null;
  /** Inclusive day range `YYYY-MM-DD`, in `timeZone` (IANA; default UTC). */
  dateFrom?: string | null;
  dateTo?: string | null;
  timeZone?: string | null;
  filesOnly?: boolean;
  limit: number;
  offset: number;
}

export interface SearchResult {
  roomId: string;
  /** '' for a 1:1 room (the app names it after the other person). */
  roomName: string | null;
  messageId: string;
  segment: number;
  senderId: string;
  /** Display name; null when the account was deleted. */
  senderName: string | null;
  at: number;
  snippet: { text: string; highlights: [number, number][] };
}


/** Milliseconds at 00:00 of `day` (YYYY-MM-DD) in the time zone. */
export function startOfDay(day: string, timeZone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) fail('validation-failed', 'Dates are YYYY-MM-DD.');
  const utc = Date.UTC(Number(m![1]), Number(m![2]) - 1, Number(m![3]));
  if (Number.isNaN(utc) || new Date(utc).toISOString().slice(0, 10) !== day) fail('validation-failed', 'Not a calendar date.');
  // the zone's offset at that moment (twice: a DST change on that day moves it)
  const offset = (t: number) => {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(t);
    const get = (k: string) => Number(parts.find((p) => p.type === k)?.value);
    return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - t;
  };
  let t = utc - offset(utc);
  t = utc - offset(t);
  return t;
}

/** Totals are counted exactly up to this many matches. */
export const TOTAL_CAP = 1000;

export class SearchService {
  constructor(private d: {
    db: Db; search: SearchRepo; access: AccessPolicy; messages: MessagesRepo; documents: DocumentsRepo; horizon: () => number;
    /** Names for results (a sender who left the room is still named). */
    names: { user: (id: string) => string | null; room: (id: string) => string | null };
  }) {}

  // ---- keeping the index in step (inside the commit of the write) --------------------------------

  /** A message as the document now holds it (new, edited or deleted), counted in `segment`. */
  indexInTx(roomId: string, message: Message, place: { segment: number; at: number } | null): void {
    const text = searchableText(message);
    const id = this.d.search.idOf(roomId, message.id);
    if (text === null) {
      if (id !== undefined) this.d.search.delete(id);
      return;
    }
    if (id !== undefined) return this.d.search.update(id, text);
    // an edit of a message indexed before the index existed: its place is in the room's message index
    const where = place ?? (() => {
      const row = this.d.messages.get(roomId, message.id);
      return row ? { segment: row.segment, at: row.at } : null;
    })();
    if (!where) return;
    this.d.search.insert({ room_id: roomId, message_id: message.id, segment: where.segment, author: message.author, at: where.at, text });
  }

  /**
   * Adds the FTS5 terms of rows written since the last call, oldest first (at most `limit`; returns
   * how many). Part of a write transaction: the write queue runs it in batches (search/indexer.ts),
   * and every query runs it first, so a query sees every committed message.
   */
  indexPendingInTx(limit = Infinity): number {
    return this.d.search.indexPending(Number.isFinite(limit) ? limit : -1);
  }

  removeRoomInTx(roomId: string): void {
    this.d.search.deleteRoom(roomId);
  }

  // ---- querying ----------------------------------------------------------------------------------

  search(userId: string, input: SearchInput): { results: SearchResult[]; total: number; totalCapped: boolean } {
    const query = input.query.normalize('NFC').trim();
    if (!query || query.length > 200) fail('validation-failed', 'query: 1-200 characters');
    // the terms of messages committed since the indexer last ran: a query never misses one
    this.d.db.transaction(() => this.indexPendingInTx())();
    const terms = queryTerms(query);
    const match = ftsQuery(terms);
    if (!match) return { results: [], total: 0, totalCapped: false };
    // every term as a whole word: ranked first
    const exact = terms.map((t) => `words : "${t.word.replace(/"/g, '""')}"`).join(' AND ');
    if (input.roomId) this.d.access.membership(userId, input.roomId);
    const zone = input.timeZone || 'UTC';
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
    } catch {
      fail('validation-failed', 'time_zone: an IANA time zone such as Asia/Seoul');
    }
    const from = input.dateFrom ? startOfDay(input.dateFrom, zone) : null;
    const to = input.dateTo ? startOfDay(nextDay(input.dateTo), zone) : null;
    // nothing older than the retention horizon, even in the moment before a run has erased it
    const horizon = this.d.horizon();
    const filters = { from: horizon ? Math.max(from ?? 0, horizon) : from, to, filesOnly: !!input.filesOnly };

    // what the user may read, as scope tokens (one room, when filtered)
    const scope = this.d.access.searchScope(userId).filter((r) => !input.roomId || r.roomId === input.roomId);
    const tokens = scope.flatMap((r) => (r.segments === 'all' ? [roomToken(r.roomId)] : r.segments.map((n) => segmentToken(r.roomId, n))));
    if (!tokens.length) return { results: [], total: 0, totalCapped: false };
    let m = `(${match}) AND scope : (${tokens.map((t) => `"${t}"`).join(' OR ')})`;
    if (input.senderId) m += ` AND scope : "${authorToken(input.senderId)}"`;
    // whole-word matches first, each part newest first
    const first = `(${m}) AND (${exact})`;
    const rest = `(${m}) NOT (${exact})`;
    // counting every match of a common word in a million messages costs more than the page: the
    // total is exact up to TOTAL_CAP and reported as `totalCapped` beyond
    const want = input.offset + input.limit;
    const firstCount = this.d.search.count(first, filters, want);
    const rows = input.offset < firstCount ? this.d.search.page(first, filters, input.limit, input.offset) : [];
    // firstCount < want: it is exact, and the rest of the page comes from the other part
    if (rows.length < input.limit && firstCount < want) rows.push(...this.d.search.page(rest, filters, input.limit - rows.length, Math.max(0, input.offset - firstCount)));
    const counted = this.d.search.count(m, filters, TOTAL_CAP + 1);
    const totalCapped = counted > TOTAL_CAP;
    const total = Math.min(counted, TOTAL_CAP);
    return {
      total,
      totalCapped,
      results: rows.map((r) => ({
        roomId: r.room_id, roomName: this.d.names.room(r.room_id), messageId: r.message_id, segment: r.segment,
        senderId: r.author, senderName: this.d.names.user(r.author), at: r.at, snippet: snippet(r.text, terms),
      })),
    };
  }

  // ---- rebuilding from the documents (npm run reindex) ----------------------------------------------

  /**
   * Drops the index and recreates it from the stored documents; returns how many messages it holds.
   * Rows go in in time order (as the write path adds them), so that newest-first is rowid order.
   */
  rebuild(): number {
    const db = this.d.db;
    return db.transaction(() => {
      this.d.search.clear();
      db.exec(`CREATE TEMP TABLE IF NOT EXISTS search_rebuild (at INTEGER, seq INTEGER, room_id TEXT, message_id TEXT, segment INTEGER,
               author TEXT, text TEXT, words TEXT, grams TEXT, scope TEXT); DELETE FROM temp.search_rebuild;`);
      const put = db.prepare('INSERT INTO temp.search_rebuild VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      let docs = new Map<string, Y.Doc>();
      const docOf = (name: string) => {
        let doc = docs.get(name);
        if (!doc) {
          // one room's documents at a time: messages come by room and segment
          if (docs.size >= 16) docs = new Map();
          doc = new Y.Doc();
          const stored = this.d.documents.load(name);
          if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
          for (const u of stored.tail) Y.applyUpdate(doc, u.data);
          docs.set(name, doc);
        }
        return doc;
      };
      for (const row of this.d.messages.each()) {
        const message = docOf(`room:${row.room_id}:${row.segment}`).getMap<Message>(SEGMENT_MESSAGES).get(row.message_id);
        const text = message && searchableText(message);
        if (!message || !text) continue;
        const terms = indexTerms(text);
        put.run(row.at, row.seq, row.room_id, row.message_id, row.segment, message.author, text, terms.words, terms.grams, scopeOf(row.room_id, row.segment, message.author));
      }
      db.exec(`INSERT INTO search_messages (room_id, message_id, segment, author, at, text)
                 SELECT room_id, message_id, segment, author, at, text FROM temp.search_rebuild ORDER BY at, room_id, seq;
               INSERT INTO search_fts (rowid, words, grams, scope)
                 SELECT m.id, r.words, r.grams, r.scope FROM temp.search_rebuild r JOIN search_messages m ON m.room_id = r.room_id AND m.message_id = r.message_id;
               DROP TABLE temp.search_rebuild;`);
      this.d.search.markAllIndexed();
      return db.prepare('SELECT COUNT(*) FROM search_messages').pluck().get() as number;
    })();
  }
}

function nextDay(day: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) fail('validation-failed', 'Dates are YYYY-MM-DD.');
  return new Date(Date.UTC(Number(m![1]), Number(m![2]) - 1, Number(m![3]) + 1)).toISOString().slice(0, 10);
}
