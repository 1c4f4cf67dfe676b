/** What retention reads and marks: expiring messages by segment, empty old segments, the run log. */
import type { Db } from '../db/database.ts';

export interface RetentionRunRow {
  id: number;
  at: number;
  horizon: number;
  segments_dropped: number;
  messages_erased: number;
  files_erased: number;
  pins_removed: number;
}

export function retentionRepo(db: Db) {
  const s = {
    groups: db.prepare(`SELECT room_id, segment, COUNT(*) AS expired FROM room_messages
                        WHERE at < ? AND erased_at IS NULL GROUP BY room_id, segment`),
    expiredIds: db.prepare('SELECT message_id FROM room_messages WHERE room_id = ? AND segment = ? AND at < ? AND erased_at IS NULL').pluck(),
    liveCount: db.prepare('SELECT COUNT(*) FROM room_messages WHERE room_id = ? AND segment = ? AND erased_at IS NULL').pluck(),
    segmentIds: db.prepare('SELECT message_id FROM room_messages WHERE room_id = ? AND segment = ? AND erased_at IS NULL').pluck(),
    markErased: db.prepare('UPDATE room_messages SET erased_at = ? WHERE room_id = ? AND message_id IN (SELECT value FROM json_each(?))'),
    emptyOldSegments: db.prepare(`SELECT s.room_id, s.n FROM segments s JOIN rooms r ON r.id = s.room_id
                                  WHERE s.sealed_at IS NOT NULL AND s.sealed_at < ? AND s.n <> r.open_segment
                                    AND NOT EXISTS (SELECT 1 FROM room_messages m WHERE m.room_id = s.room_id AND m.segment = s.n AND m.erased_at IS NULL)`),
    filesOf: db.prepare("SELECT id FROM files WHERE room_id = ? AND message_id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL").pluck(),
    pinsOf: db.prepare("SELECT id FROM pins WHERE room_id = ? AND message_id IN (SELECT value FROM json_each(?))").pluck(),
    deleteSegment: db.prepare('DELETE FROM segments WHERE room_id = ? AND n = ?'),
    insertRun: db.prepare(`INSERT INTO retention_runs (at, horizon, segments_dropped, messages_erased, files_erased, pins_removed)
                           VALUES (@at, @horizon, @segments_dropped, @messages_erased, @files_erased, @pins_removed)`),
    runs: db.prepare('SELECT * FROM retention_runs ORDER BY id DESC LIMIT ?'),
  };
  const json = (ids: string[]) => JSON.stringify(ids);
  return {
    groups: (horizon: number) => s.groups.all(horizon) as { room_id: string; segment: number; expired: number }[],
    expiredIds: (roomId: string, segment: number, horizon: number) => s.expiredIds.all(roomId, segment, horizon) as string[],
    liveCount: (roomId: string, segment: number) => s.liveCount.get(roomId, segment) as number,
    segmentIds: (roomId: string, segment: number) => s.segmentIds.all(roomId, segment) as string[],
    markErased: (roomId: string, ids: string[], at: number) => void s.markErased.run(at, roomId, json(ids)),
    emptyOldSegments: (horizon: number) => s.emptyOldSegments.all(horizon) as { room_id: string; n: number }[],
    filesOf: (roomId: string, ids: string[]) => s.filesOf.all(roomId, json(ids)) as string[],
    pinsOf: (roomId: string, ids: string[]) => s.pinsOf.all(roomId, json(ids)) as string[],
    deleteSegment: (roomId: string, n: number) => void s.deleteSegment.run(roomId, n),
    insertRun: (row: Omit<RetentionRunRow, 'id'>) => void s.insertRun.run(row),
    runs: (limit: number) => s.runs.all(limit) as RetentionRunRow[],
  };
}
export type RetentionRepo = ReturnType<typeof retentionRepo>;
