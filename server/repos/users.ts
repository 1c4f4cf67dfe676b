/** Users table: SQL kept visible, statements prepared once. */
import type { Db } from '../db/database.ts';

export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  status_message: string;
  password_hash: string | null;
  is_admin: number;
  disabled: number;
  created_at: number;
  /** When the profile photo was last set (ms), null without one. */
  avatar_at: number | null;
}

export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  statusMessage: string;
  isAdmin: boolean;
  /** Present when the user has a profile photo: its version (ms), for `GET /api/users/:id/avatar?v=`. */
  avatarAt?: number;
}

export const toPublicUser = (u: UserRow): PublicUser => ({
  id: u.id,
  username: u.username,
  displayName: u.display_name,
  statusMessage: u.status_message,
  isAdmin: u.is_admin === 1,
  ...(u.avatar_at ? { avatarAt: u.avatar_at } : {}),
});

export function usersRepo(db: Db) {
  const s = {
    insert: db.prepare(`INSERT INTO users (id, username, display_name, password_hash, is_admin, created_at)
                        VALUES (@id, @username, @display_name, @password_hash, @is_admin, @created_at)`),
    byId: db.prepare('SELECT * FROM users WHERE id = ?'),
    byUsername: db.prepare('SELECT * FROM users WHERE username = ?'),
    count: db.prepare('SELECT COUNT(*) FROM users').pluck(),
    search: db.prepare(`SELECT * FROM users WHERE disabled = 0 AND (username LIKE @q ESCAPE '\\' OR display_name LIKE @q ESCAPE '\\')
                        ORDER BY display_name LIMIT @limit`),
    updateProfile: db.prepare('UPDATE users SET display_name = @display_name, status_message = @status_message WHERE id = @id'),
    setPassword: db.prepare('UPDATE users SET password_hash = ? WHERE id = ?'),
    setAvatar: db.prepare('UPDATE users SET avatar_at = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM users WHERE id = ?'),
  };
  return {
    insert: (u: Omit<UserRow, 'status_message' | 'disabled' | 'avatar_at'>) => void s.insert.run(u),
    byId: (id: string) => s.byId.get(id) as UserRow | undefined,
    byUsername: (username: string) => s.byUsername.get(username) as UserRow | undefined,
    count: () => s.count.get() as number,
    search: (q: string, limit: number) =>
      s.search.all({ q: `%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%`, limit }) as UserRow[],
    updateProfile: (id: string, display_name: string, status_message: string) =>
      void s.updateProfile.run({ id, display_name, status_message }),
    setPassword: (id: string, hash: string) => void s.setPassword.run(hash, id),
    setAvatar: (id: string, at: number | null) => void s.setAvatar.run(at, id),
    remove: (id: string) => void s.remove.run(id),
  };
}
export type UsersRepo = ReturnType<typeof usersRepo>;
