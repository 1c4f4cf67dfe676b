/**
 * The search index: one row per message (`search_messages`, the text for snippets) and its FTS5
 * terms (`search_fts`: words, grams, and scope tokens for room, segment and author). Access and the
 * sender filter are part of the MATCH expression, so FTS5 intersects doclists instead of SQLite
 * checking rows; pages go newest first by rowid and stop as soon as they are full.
 */
import type { Db } from '../db/database.ts';
import { indexTerms } from '../../src/lib/search/tokenize.ts';

export interface SearchRow {
  id: number;
  room_id: string;
  message_id: string;
  segment: number;
  author: string;
  at: number;
  text: string;
}

/** Filters that FTS5 cannot apply (checked on the rows, in the same newest-first scan). */
export interface RowFilters {
  from: number | null;
  to: number | null;
  filesOnly: boolean;
}

// ids are case-sensitive, FTS5 tokens are not: scope tokens carry ids in hex
const hex = (id: string) => Buffer.from(id, 'utf8').toString('hex');
export const roomToken = (roomId: string) => `r${hex(roomId)}`;
export const segmentToken = (roomId: string, n: number) => `s${hex(roomId)}x${n}`;
export const authorToken = (userId: string) => `u${hex(userId)}`;
export const scopeOf = (roomId: string, segment: number, author: string) => `${roomToken(roomId)} ${segmentToken(roomId, segment)} ${authorToken(author)}`;

export function searchRepo(db: Db) {
  const rowFilter = `(@from IS NULL OR m.at >= @from) AND (@to IS NULL OR m.at < @to)
      AND (@files = 0 OR EXISTS (SELECT 1 FROM files f WHERE f.room_id = m.room_id AND f.message_id = m.message_id AND f.deleted_at IS NULL))`;
  const s = {
    byMessage: db.prepare('SELECT id FROM search_messages WHERE room_id = ? AND message_id = ?').pluck(),
    row: db.prepare('SELECT * FROM search_messages WHERE id = ?'),
    // above every id so far and above the indexed mark: a row is unindexed exactly when id > upto
    insert: db.prepare(`INSERT INTO search_messages (id, room_id, message_id, segment, author, at, text)
                        VALUES (MAX(COALESCE((SELECT MAX(id) FROM search_messages), 0), (SELECT upto FROM search_progress)) + 1,
                                @room_id, @message_id, @segment, @author, @at, @text)`),
    upto: db.prepare('SELECT upto FROM search_progress').pluck(),
    setUpto: db.prepare('UPDATE search_progress SET upto = ?'),
    pending: db.prepare('SELECT * FROM search_messages WHERE id > (SELECT upto FROM search_progress) ORDER BY id LIMIT ?'),
    maxId: db.prepare('SELECT COALESCE(MAX(id), 0) FROM search_messages').pluck(),
    update: db.prepare('UPDATE search_messages SET text = ? WHERE id = ?'),
    insertFts: db.prepare('INSERT INTO search_fts (rowid, words, grams, scope) VALUES (?, ?, ?, ?)'),
    // contentless: a row is removed by giving FTS5 the terms it was indexed with (recomputed from the
    // stored text: the tokenizer is deterministic; a tokenizer change needs `npm run reindex`)
    deleteFts: db.prepare("INSERT INTO search_fts (search_fts, rowid, words, grams, scope) VALUES ('delete', ?, ?, ?, ?)"),
    delete: db.prepare('DELETE FROM search_messages WHERE id = ?'),
    roomRows: db.prepare('SELECT * FROM search_messages WHERE room_id = ?'),
    deleteRoom: db.prepare('DELETE FROM search_messages WHERE room_id = ?'),
    page: db.prepare(`SELECT m.* FROM search_fts JOIN search_messages m ON m.id = search_fts.rowid
                      WHERE search_fts MATCH @match AND ${rowFilter}
                      ORDER BY search_fts.rowid DESC LIMIT @limit OFFSET @offset`),
    countRows: db.prepare(`SELECT COUNT(*) FROM (SELECT 1 FROM search_fts JOIN search_messages m ON m.id = search_fts.rowid
                           WHERE search_fts MATCH @match AND ${rowFilter} LIMIT @cap)`).pluck(),
    count: db.prepare('SELECT COUNT(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH ? LIMIT ?)').pluck(),
    all: db.prepare('SELECT * FROM search_messages ORDER BY room_id, message_id'),
    clear: db.prepare('DELETE FROM search_messages'),
    clearFts: db.prepare("INSERT INTO search_fts(search_fts) VALUES ('delete-all')"),
  };
  const unindex = (row: SearchRow) => {
    const t = indexTerms(row.text);
    s.deleteFts.run(row.id, t.words, t.grams, scopeOf(row.room_id, row.segment, row.author));
  };
  const upto = () => s.upto.get() as number;
  const indexRow = (row: SearchRow) => {
    const t = indexTerms(row.text);
    s.insertFts.run(row.id, t.words, t.grams, scopeOf(row.room_id, row.segment, row.author));
  };
  const noFilter = (f: RowFilters) => f.from === null && f.to === null && !f.filesOnly;
  return {
    idOf: (roomId: string, messageId: string) => s.byMessage.get(roomId, messageId) as number | undefined,
    /** A new row; its terms follow with `indexPending`. */
    insert: (row: Omit<SearchRow, 'id'>) => Number(s.insert.run(row).lastInsertRowid),
    update: (id: number, text: string) => {
      const row = s.row.get(id) as SearchRow;
      const indexed = id <= upto();
      if (indexed) unindex(row);
      s.update.run(text, id);
      if (indexed) indexRow({ ...row, text });
    },
    delete: (id: number) => {
      const row = s.row.get(id) as SearchRow | undefined;
      if (!row) return;
      if (id <= upto()) unindex(row);
      s.delete.run(id);
    },
    deleteRoom: (roomId: string) => {
      const mark = upto();
      for (const row of s.roomRows.all(roomId) as SearchRow[]) if (row.id <= mark) unindex(row);
      s.deleteRoom.run(roomId);
    },
    /** Adds the terms of up to `limit` unindexed rows, oldest first; returns how many it indexed. */
    indexPending: (limit: number) => {
      const rows = s.pending.all(limit) as SearchRow[];
      for (const row of rows) indexRow(row);
      if (rows.length) s.setUpto.run(rows[rows.length - 1].id);
      return rows.length;
    },
    /** Every row is indexed (after a rebuild that indexed them itself). */
    markAllIndexed: () => void s.setUpto.run(s.maxId.get()),
    page: (match: string, filters: RowFilters, limit: number, offset: number) =>
      s.page.all({ match, from: filters.from, to: filters.to, files: filters.filesOnly ? 1 : 0, limit, offset }) as SearchRow[],
    /** How many rows match, counting at most `cap`. */
    count: (match: string, filters: RowFilters, cap: number) =>
      (noFilter(filters) ? s.count.get(match, cap) : s.countRows.get({ match, from: filters.from, to: filters.to, files: filters.filesOnly ? 1 : 0, cap })) as number,
    all: () => s.all.all() as SearchRow[],
    clear: () => {
      s.clearFts.run();
      s.clear.run();
      s.setUpto.run(0);
    },
  };
}
export type SearchRepo = ReturnType<typeof searchRepo>;
