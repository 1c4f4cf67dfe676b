/**
 * The room-wide message index: which segment a message id counts in, and its receipt (seq, time).
 * Written in the same commit as the update that brought the message; read by the validator
 * (ids unique per room) and by receipt repair after a crash.
 */
import type { Db } from '../db/database.ts';

export interface MessageRow {
  room_id: string;
  message_id: string;
  segment: number;
  seq: number;
  at: number;
  author: string;
}

export function messagesRepo(db: Db) {
  const s = {
    get: db.prepare('SELECT * FROM room_messages WHERE room_id = ? AND message_id = ?'),
    insert: db.prepare(`INSERT INTO room_messages (room_id, message_id, segment, seq, at, author)
                        VALUES (@room_id, @message_id, @segment, @seq, @at, @author)`),
    count: db.prepare('SELECT COUNT(*) FROM room_messages WHERE room_id = ?').pluck(),
    page: db.prepare(`SELECT * FROM room_messages WHERE (room_id, segment, seq) > (@room, @segment, @seq)
                      ORDER BY room_id, segment, seq LIMIT 5000`),
  };
  return {
    get: (roomId: string, messageId: string) => s.get.get(roomId, messageId) as MessageRow | undefined,
    insert: (row: MessageRow) => void s.insert.run(row),
    count: (roomId: string) => s.count.get(roomId) as number,
    /** Every message of every room, by room and segment, read in pages (other statements may run between). */
    *each(): Generator<MessageRow> {
      let after = { room: '', segment: -1, seq: -1 };
      for (;;) {
        const rows = s.page.all(after) as MessageRow[];
        if (!rows.length) return;
        yield* rows;
        const last = rows[rows.length - 1];
        after = { room: last.room_id, segment: last.segment, seq: last.seq };
      }
    },
  };
}
export type MessagesRepo = ReturnType<typeof messagesRepo>;
