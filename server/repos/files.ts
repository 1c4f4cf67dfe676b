/** Uploaded files: metadata, scan state, the one-time token (its hash) and the message that spent it. */
import type { Db } from '../db/database.ts';

export type JobState = 'queued' | 'scanning' | 'clean' | 'rejected' | 'error';

export interface FileRow {
  id: string;
  room_id: string;
  uploader: string;
  name: string;
  size: number;
  type: string;
  ext: string;
  width: number | null;
  height: number | null;
  thumb: number;
  state: JobState;
  reason: string | null;
  token_hash: Buffer | null;
  token_expires_at: number | null;
  message_id: string | null;
  segment: number | null;
  attached_at: number | null;
  created_at: number;
  deleted_at: number | null;
  position: number;
}

export function filesRepo(db: Db) {
  const s = {
    get: db.prepare('SELECT * FROM files WHERE id = ?'),
    insert: db.prepare(`INSERT INTO files (id, room_id, uploader, name, size, type, ext, width, height, thumb, state, created_at)
                        VALUES (@id, @room_id, @uploader, @name, @size, @type, @ext, @width, @height, @thumb, @state, @created_at)`),
    setState: db.prepare('UPDATE files SET state = ?, reason = ? WHERE id = ? AND deleted_at IS NULL'),
    setImage: db.prepare('UPDATE files SET width = ?, height = ?, thumb = ? WHERE id = ?'),
    setToken: db.prepare("UPDATE files SET token_hash = ?, token_expires_at = ? WHERE id = ? AND state = 'clean' AND message_id IS NULL AND deleted_at IS NULL"),
    // spends the token: only once, only while nobody else has
    attach: db.prepare(`UPDATE files SET message_id = ?, segment = ?, attached_at = ?, position = ?, token_hash = NULL
                        WHERE id = ? AND room_id = ? AND uploader = ? AND message_id IS NULL AND deleted_at IS NULL AND state = 'clean'`),
    moveSegment: db.prepare('UPDATE files SET segment = ? WHERE room_id = ? AND message_id = ?'),
    // a deleted file keeps its row (old references answer 404) but not its name
    markDeleted: db.prepare("UPDATE files SET deleted_at = ?, token_hash = NULL, name = '' WHERE id = ? AND deleted_at IS NULL"),
    ofMessage: db.prepare('SELECT * FROM files WHERE room_id = ? AND message_id = ? AND deleted_at IS NULL'),
    jobs: db.prepare("SELECT * FROM files WHERE state IN ('queued', 'scanning', 'error') AND deleted_at IS NULL ORDER BY created_at"),
    orphans: db.prepare('SELECT * FROM files WHERE message_id IS NULL AND deleted_at IS NULL AND created_at < ? LIMIT 500'),
    deletedRows: db.prepare('SELECT id FROM files WHERE deleted_at IS NOT NULL AND deleted_at < ? LIMIT 500').pluck(),
    remove: db.prepare('DELETE FROM files WHERE id = ?'),
    exists: db.prepare('SELECT 1 FROM files WHERE id = ?').pluck(),
    room: db.prepare(`SELECT * FROM files
                      WHERE room_id = @room AND message_id IS NOT NULL AND deleted_at IS NULL
                        AND (@images IS NULL OR (@images = 1) = (type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')))
                        AND (@before_at IS NULL OR attached_at < @before_at
                             OR (attached_at = @before_at AND (position > @before_pos OR (position = @before_pos AND id < @before_id))))
                        AND segment IN (SELECT value FROM json_each(@segments))
                        AND attached_at >= @horizon
                      ORDER BY attached_at DESC, position ASC, id DESC LIMIT @limit`),
    totalBytes: db.prepare('SELECT COALESCE(SUM(size), 0) FROM files WHERE deleted_at IS NULL').pluck(),
  };
  return {
    get: (id: string) => s.get.get(id) as FileRow | undefined,
    insert: (row: Pick<FileRow, 'id' | 'room_id' | 'uploader' | 'name' | 'size' | 'type' | 'ext' | 'width' | 'height' | 'thumb' | 'state' | 'created_at'>) => void s.insert.run(row),
    setState: (id: string, state: JobState, reason: string | null = null) => s.setState.run(state, reason, id).changes > 0,
    setImage: (id: string, width: number | null, height: number | null, thumb: boolean) => void s.setImage.run(width, height, thumb ? 1 : 0, id),
    setToken: (id: string, hash: Buffer, expiresAt: number) => s.setToken.run(hash, expiresAt, id).changes > 0,
    attach: (id: string, roomId: string, uploader: string, messageId: string, segment: number, at: number, position: number) => s.attach.run(messageId, segment, at, position, id, roomId, uploader).changes > 0,
    moveSegment: (roomId: string, messageId: string, segment: number) => void s.moveSegment.run(segment, roomId, messageId),
    markDeleted: (id: string, at: number) => s.markDeleted.run(at, id).changes > 0,
    ofMessage: (roomId: string, messageId: string) => s.ofMessage.all(roomId, messageId) as FileRow[],
    jobs: () => s.jobs.all() as FileRow[],
    orphans: (createdBefore: number) => s.orphans.all(createdBefore) as FileRow[],
    deletedRows: (before: number) => s.deletedRows.all(before) as string[],
    remove: (id: string) => void s.remove.run(id),
    exists: (id: string) => s.exists.get(id) !== undefined,
    room: (q: { room: string; images: boolean | null; before: { at: number; position: number; id: string } | null; segments: number[]; limit: number; horizon: number }) =>
      s.room.all({
        room: q.room, images: q.images === null ? null : q.images ? 1 : 0,
        before_at: q.before?.at ?? null, before_pos: q.before?.position ?? 0, before_id: q.before?.id ?? null,
        segments: JSON.stringify(q.segments), limit: q.limit, horizon: q.horizon,
      }) as FileRow[],
    totalBytes: () => s.totalBytes.get() as number,
  };
}
export type FilesRepo = ReturnType<typeof filesRepo>;
