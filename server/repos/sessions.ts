/** Sessions table (Lucia recipe: only the SHA-256 of the secret is stored). */
import type { Db } from '../db/database.ts';

export interface SessionRow {
  id: string;
  secret_hash: Buffer;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  user_agent: string;
}

export function sessionsRepo(db: Db) {
  const s = {
    insert: db.prepare(`INSERT INTO sessions (id, secret_hash, user_id, created_at, last_used_at, expires_at, user_agent)
                        VALUES (@id, @secret_hash, @user_id, @created_at, @last_used_at, @expires_at, @user_agent)`),
    byId: db.prepare('SELECT * FROM sessions WHERE id = ?'),
    byUser: db.prepare('SELECT * FROM sessions WHERE user_id = ? ORDER BY last_used_at DESC'),
    touch: db.prepare('UPDATE sessions SET last_used_at = ?, expires_at = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM sessions WHERE id = ?'),
    othersOf: db.prepare('SELECT id FROM sessions WHERE user_id = ? AND id != ?').pluck(),
    removeOthers: db.prepare('DELETE FROM sessions WHERE user_id = ? AND id != ?'),
    removeExpired: db.prepare('DELETE FROM sessions WHERE expires_at < ?'),
  };
  return {
    insert: (row: SessionRow) => void s.insert.run(row),
    byId: (id: string) => s.byId.get(id) as SessionRow | undefined,
    byUser: (userId: string) => s.byUser.all(userId) as SessionRow[],
    touch: (id: string, now: number, expiresAt: number) => void s.touch.run(now, expiresAt, id),
    remove: (id: string) => s.remove.run(id).changes > 0,
    /** Deletes every session of the user except `keepId`; returns the deleted ids. */
    removeOthers: (userId: string, keepId: string) =>
      db.transaction(() => {
        const ids = s.othersOf.all(userId, keepId) as string[];
        s.removeOthers.run(userId, keepId);
        return ids;
      })(),
    removeExpired: (now: number) => s.removeExpired.run(now).changes,
  };
}
export type SessionsRepo = ReturnType<typeof sessionsRepo>;
