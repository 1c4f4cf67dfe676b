/** Polls, options and votes; pins; read positions. */
import type { Db } from '../db/database.ts';

export interface PollRow {
  id: string;
  room_id: string;
  created_by: string;
  question: string;
  multiple: number;
  anonymous: number;
  ends_at: number | null;
  closed_at: number | null;
  created_at: number;
}
export interface OptionRow {
  id: string;
  poll_id: string;
  idx: number;
  text: string;
}
export interface PinRow {
  id: string;
  room_id: string;
  message_id: string | null;
  segment: number | null;
  text: string;
  created_by: string;
  created_at: number;
}

export function pollsRepo(db: Db) {
  const s = {
    insertPoll: db.prepare(`INSERT INTO polls (id, room_id, created_by, question, multiple, anonymous, ends_at, created_at)
                            VALUES (@id, @room_id, @created_by, @question, @multiple, @anonymous, @ends_at, @created_at)`),
    insertOption: db.prepare('INSERT INTO poll_options (id, poll_id, idx, text) VALUES (?, ?, ?, ?)'),
    poll: db.prepare('SELECT * FROM polls WHERE id = ?'),
    pollsOfRoom: db.prepare('SELECT * FROM polls WHERE room_id = ? ORDER BY created_at'),
    options: db.prepare('SELECT * FROM poll_options WHERE poll_id = ? ORDER BY idx'),
    votes: db.prepare('SELECT user_id, option_id FROM poll_votes WHERE poll_id = ? ORDER BY at, user_id'),
    deleteVotes: db.prepare('DELETE FROM poll_votes WHERE poll_id = ? AND user_id = ?'),
    insertVote: db.prepare('INSERT INTO poll_votes (poll_id, user_id, option_id, at) VALUES (?, ?, ?, ?)'),
    close: db.prepare('UPDATE polls SET closed_at = ? WHERE id = ? AND closed_at IS NULL'),
    expired: db.prepare('SELECT * FROM polls WHERE closed_at IS NULL AND ends_at IS NOT NULL AND ends_at <= ?'),
    insertPin: db.prepare(`INSERT INTO pins (id, room_id, message_id, segment, text, created_by, created_at)
                           VALUES (@id, @room_id, @message_id, @segment, @text, @created_by, @created_at)`),
    pin: db.prepare('SELECT * FROM pins WHERE id = ? AND room_id = ?'),
    pinsOfRoom: db.prepare('SELECT * FROM pins WHERE room_id = ? ORDER BY created_at, id'),
    deletePin: db.prepare('DELETE FROM pins WHERE id = ?'),
    readSeq: db.prepare('SELECT read_seq FROM room_members WHERE room_id = ? AND user_id = ?').pluck(),
    setRead: db.prepare('UPDATE room_members SET read_seq = ? WHERE room_id = ? AND user_id = ? AND read_seq < ?'),
    reads: db.prepare('SELECT user_id, read_seq FROM room_members WHERE room_id = ?'),
  };
  return {
    insertPoll: (p: Omit<PollRow, 'closed_at'>, options: string[], optionId: () => string) =>
      db.transaction(() => {
        s.insertPoll.run(p);
        options.forEach((text, i) => s.insertOption.run(optionId(), p.id, i, text));
      })(),
    poll: (id: string) => s.poll.get(id) as PollRow | undefined,
    pollsOfRoom: (roomId: string) => s.pollsOfRoom.all(roomId) as PollRow[],
    options: (pollId: string) => s.options.all(pollId) as OptionRow[],
    votes: (pollId: string) => s.votes.all(pollId) as { user_id: string; option_id: string }[],
    /** Replaces the user's vote in one transaction. */
    replaceVote: (pollId: string, userId: string, optionIds: string[], at: number) =>
      db.transaction(() => {
        s.deleteVotes.run(pollId, userId);
        for (const o of optionIds) s.insertVote.run(pollId, userId, o, at);
      })(),
    close: (id: string, at: number) => s.close.run(at, id).changes > 0,
    expired: (now: number) => s.expired.all(now) as PollRow[],
    insertPin: (p: PinRow) => void s.insertPin.run(p),
    pin: (id: string, roomId: string) => s.pin.get(id, roomId) as PinRow | undefined,
    pinsOfRoom: (roomId: string) => s.pinsOfRoom.all(roomId) as PinRow[],
    deletePin: (id: string) => void s.deletePin.run(id),
    readSeq: (roomId: string, userId: string) => (s.readSeq.get(roomId, userId) as number | undefined) ?? 0,
    /** Only forward: returns whether it moved. */
    setRead: (roomId: string, userId: string, seq: number) => s.setRead.run(seq, roomId, userId, seq).changes > 0,
    reads: (roomId: string) => s.reads.all(roomId) as { user_id: string; read_seq: number }[],
  };
}
export type PollsRepo = ReturnType<typeof pollsRepo>;
