/** The search index: one row per message (`search_messages`) and its FTS5 terms (`search_fts`). */
import type { Db } from '../db/database.ts';

export interface SearchRow {
  id: number;
  room_id: string;
  message_id: string;
  segment: number;
  author: string;
  at: number;
  text: string;
}

export interface SearchQuery {
  match: string;
  exact: string | null;
  /** `room:segment` pairs the user may read. */
  allowed: string[];
  room: string | null;
  sender: string | null;
  from: number | null;
  to: number | null;
  filesOnly: boolean;
  limit: number;
  offset: number;
}

export function searchRepo(db: Db) {
  const where = `search_fts MATCH @match
      AND (m.room_id || ':' || m.segment) IN (SELECT value FROM json_each(@allowed))
      AND (@room IS NULL OR m.room_id = @room)
      AND (@sender IS NULL OR m.author = @sender)
      AND (@from IS NULL OR m.at >= @from)
      AND (@to IS NULL OR m.at < @to)
      AND (@files = 0 OR EXISTS (SELECT 1 FROM files f WHERE f.room_id = m.room_id AND f.message_id = m.message_id AND f.deleted_at IS NULL))`;
  const s = {
    byMessage: db.prepare('SELECT id FROM search_messages WHERE room_id = ? AND message_id = ?').pluck(),
    insert: db.prepare(`INSERT INTO search_messages (room_id, message_id, segment, author, at, text)
                        VALUES (@room_id, @message_id, @segment, @author, @at, @text)`),
    update: db.prepare('UPDATE search_messages SET text = ? WHERE id = ?'),
    insertFts: db.prepare('INSERT INTO search_fts (rowid, words, grams) VALUES (?, ?, ?)'),
    deleteFts: db.prepare('DELETE FROM search_fts WHERE rowid = ?'),
    delete: db.prepare('DELETE FROM search_messages WHERE id = ?'),
    roomIds: db.prepare('SELECT id FROM search_messages WHERE room_id = ?').pluck(),
    deleteRoom: db.prepare('DELETE FROM search_messages WHERE room_id = ?'),
    page: db.prepare(`SELECT m.*, (@exact IS NOT NULL AND m.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH @exact)) AS exact
                      FROM search_fts JOIN search_messages m ON m.id = search_fts.rowid
                      WHERE ${where}
                      ORDER BY exact DESC, m.at DESC, m.id DESC
                      LIMIT @limit OFFSET @offset`),
    count: db.prepare(`SELECT COUNT(*) FROM search_fts JOIN search_messages m ON m.id = search_fts.rowid WHERE ${where}`).pluck(),
    all: db.prepare('SELECT * FROM search_messages ORDER BY room_id, message_id'),
    clear: db.prepare('DELETE FROM search_messages'),
    clearFts: db.prepare("INSERT INTO search_fts(search_fts) VALUES ('delete-all')"),
  };
  const params = (q: SearchQuery) => ({
    match: q.match, exact: q.exact, allowed: JSON.stringify(q.allowed), room: q.room, sender: q.sender,
    from: q.from, to: q.to, files: q.filesOnly ? 1 : 0, limit: q.limit, offset: q.offset,
  });
  return {
    idOf: (roomId: string, messageId: string) => s.byMessage.get(roomId, messageId) as number | undefined,
    insert: (row: Omit<SearchRow, 'id'>, terms: { words: string; grams: string }) => {
      const id = Number(s.insert.run(row).lastInsertRowid);
      s.insertFts.run(id, terms.words, terms.grams);
      return id;
    },
    update: (id: number, text: string, terms: { words: string; grams: string }) => {
      s.deleteFts.run(id);
      s.update.run(text, id);
      s.insertFts.run(id, terms.words, terms.grams);
    },
    delete: (id: number) => {
      s.deleteFts.run(id);
      s.delete.run(id);
    },
    deleteRoom: (roomId: string) => {
      for (const id of s.roomIds.all(roomId) as number[]) s.deleteFts.run(id);
      s.deleteRoom.run(roomId);
    },
    page: (q: SearchQuery) => s.page.all(params(q)) as (SearchRow & { exact: number })[],
    count: (q: SearchQuery) => s.count.get(params(q)) as number,
    all: () => s.all.all() as SearchRow[],
    clear: () => {
      s.clearFts.run();
      s.clear.run();
    },
  };
}
export type SearchRepo = ReturnType<typeof searchRepo>;
