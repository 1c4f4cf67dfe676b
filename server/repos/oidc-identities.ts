/** The (issuer, subject) → account links of single sign-on: SQL kept visible, statements prepared once. */
import type { Db } from '../db/database.ts';

export interface OidcIdentityRow {
  issuer: string;
  subject: string;
  user_id: string;
  email: string;
  created_at: number;
  last_login_at: number;
}

export function oidcIdentitiesRepo(db: Db) {
  const s = {
    find: db.prepare('SELECT * FROM oidc_identities WHERE issuer = ? AND subject = ?'),
    insert: db.prepare(`INSERT INTO oidc_identities (issuer, subject, user_id, email, created_at, last_login_at)
                        VALUES (@issuer, @subject, @user_id, @email, @created_at, @last_login_at)`),
    touch: db.prepare('UPDATE oidc_identities SET last_login_at = ?, email = ? WHERE issuer = ? AND subject = ?'),
    ofUser: db.prepare('SELECT * FROM oidc_identities WHERE user_id = ? ORDER BY created_at'),
  };
  return {
    find: (issuer: string, subject: string) => s.find.get(issuer, subject) as OidcIdentityRow | undefined,
    insert: (row: OidcIdentityRow) => void s.insert.run(row),
    touch: (issuer: string, subject: string, at: number, email: string) => void s.touch.run(at, email, issuer, subject),
    ofUser: (userId: string) => s.ofUser.all(userId) as OidcIdentityRow[],
  };
}
export type OidcIdentitiesRepo = ReturnType<typeof oidcIdentitiesRepo>;
