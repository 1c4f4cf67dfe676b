/**
 * Shapes of the admin API shared by the server (server/domain/admin.ts) and the dashboard
 * (src/lib/admin/api.ts): one definition, so the two cannot drift apart.
 */

/** One row of `GET /api/admin/users`. */
export interface AdminUser {
  id: string;
  username: string;
  displayName: string;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: number;
  lastSeenAt: number | null;
  sessions: number;
  /** Version of the profile photo (`GET /api/users/:id/avatar?v=`); absent without one. */
  avatarAt?: number;
}
