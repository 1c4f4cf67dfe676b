/**
 * What server admins do from the dashboard (`/api/admin`): users, rooms, settings. Server admins
 * are a role of their own (`users.is_admin`), separate from room admins; the first account is one,
 * and `npm run admin` makes or repairs one from the shell. The last enabled server admin can be
 * neither disabled, demoted nor deleted. Every action is audited in its own transaction.
 */
import type { Db } from '../db/database.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { UsersRepo, UserRow } from '../repos/users.ts';
import type { RoomsRepo } from '../repos/rooms.ts';
import type { RoomService } from './rooms.ts';
import type { AccountService } from './accounts.ts';
import type { AuditService } from './audit.ts';
import type { Settings, SettingsService } from './settings.ts';
import type { Clock, EventBus } from './deps.ts';
import { fail } from './errors.ts';
import { hashPassword } from '../auth/passwords.ts';
import { checkPassword } from './accounts.ts';

export type { AdminUser } from '../../src/lib/protocol/admin.ts';
import type { AdminUser } from '../../src/lib/protocol/admin.ts';

export class AdminService {
  private s;

  constructor(private d: {
    db: Db; users: UsersRepo; rooms: RoomsRepo; roomService: RoomService; accounts: AccountService; sessions: SessionService;
    audit: AuditService; settings: SettingsService; clock: Clock; events: EventBus; avAvailable: boolean;
  }) {
    const db = d.db;
    this.s = {
      users: db.prepare(`SELECT u.*, (SELECT MAX(last_used_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen,
                           (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id) AS session_count
                         FROM users u WHERE (@q = '' OR u.username LIKE @like ESCAPE '\\' OR u.display_name LIKE @like ESCAPE '\\')
                         ORDER BY u.created_at, u.id LIMIT @limit OFFSET @offset`),
      userCount: db.prepare(`SELECT COUNT(*) FROM users u WHERE (@q = '' OR u.username LIKE @like ESCAPE '\\' OR u.display_name LIKE @like ESCAPE '\\')`).pluck(),
      one: db.prepare(`SELECT u.*, (SELECT MAX(last_used_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen,
                         (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id) AS session_count FROM users u WHERE u.id = ?`),
      activeAdmins: db.prepare('SELECT COUNT(*) FROM users WHERE is_admin = 1 AND disabled = 0').pluck(),
      setDisabled: db.prepare('UPDATE users SET disabled = ? WHERE id = ?'),
      setAdmin: db.prepare('UPDATE users SET is_admin = ? WHERE id = ?'),
      // messages people wrote: the server's own lines (`sys…` ids: joins, pins, polls) are not counted
      rooms: db.prepare(`SELECT r.*, (SELECT COUNT(*) FROM room_members m WHERE m.room_id = r.id) AS members,
                           (SELECT COUNT(*) FROM room_messages x WHERE x.room_id = r.id AND x.erased_at IS NULL AND x.message_id NOT LIKE 'sys%') AS messages,
                           (SELECT COALESCE(SUM(bytes), 0) FROM segments g WHERE g.room_id = r.id) AS bytes
                         FROM rooms r WHERE (@q = '' OR r.name LIKE @like ESCAPE '\\')
                         ORDER BY r.last_activity_at DESC LIMIT @limit OFFSET @offset`),
      roomCount: db.prepare(`SELECT COUNT(*) FROM rooms r WHERE (@q = '' OR r.name LIKE @like ESCAPE '\\')`).pluck(),
    };
  }

  private view(id: string): AdminUser {
    const r = this.s.one.get(id) as (UserRow & { last_seen: number | null; session_count: number }) | undefined;
    if (!r) return fail('not-found');
    return { id: r.id, username: r.username, displayName: r.display_name, isAdmin: r.is_admin === 1, disabled: r.disabled === 1, createdAt: r.created_at, lastSeenAt: r.last_seen, sessions: r.session_count, ...(r.avatar_at ? { avatarAt: r.avatar_at } : {}) };
  }

  private like(q: string) {
    return { q, like: `%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%` };
  }

  // ---- users ----------------------------------------------------------------------------------

  listUsers(q: string, limit: number, offset: number): { users: AdminUser[]; total: number } {
    const p = { ...this.like(q), limit, offset };
    const rows = this.s.users.all(p) as (UserRow & { last_seen: number | null; session_count: number })[];
    return { users: rows.map((r) => this.view(r.id)), total: this.s.userCount.get(p) as number };
  }

  async createUser(actorId: string, input: { username: string; password: string; displayName?: string; admin?: boolean }): Promise<AdminUser> {
    const created = await this.d.accounts.createUser(input, (id) => {
      if (input.admin) this.s.setAdmin.run(1, id);
      this.d.audit.record({ actorId, action: 'admin.user.create', targetType: 'user', targetId: id, details: { username: input.username, admin: !!input.admin } });
    });
    return this.view(created);
  }

  /** Would this change leave no enabled server admin? */
  private keepsAnAdmin(user: UserRow, next: { disabled: boolean; admin: boolean }) {
    const wasActiveAdmin = user.is_admin === 1 && user.disabled === 0;
    const staysActiveAdmin = next.admin && !next.disabled;
    if (wasActiveAdmin && !staysActiveAdmin && (this.s.activeAdmins.get() as number) <= 1) fail('last-server-admin');
  }

  updateUser(actorId: string, id: string, patch: { disabled?: boolean; admin?: boolean; displayName?: string }): AdminUser {
    const user = this.d.users.byId(id);
    if (!user) return fail('not-found');
    const next = { disabled: patch.disabled ?? user.disabled === 1, admin: patch.admin ?? user.is_admin === 1 };
    if (patch.displayName !== undefined) this.d.accounts.updateProfile(id, { displayName: patch.displayName });
    this.d.db.transaction(() => {
      this.keepsAnAdmin(user, next);
      if (next.disabled !== (user.disabled === 1)) {
        this.s.setDisabled.run(next.disabled ? 1 : 0, id);
        this.d.audit.record({ actorId, action: next.disabled ? 'admin.user.disable' : 'admin.user.enable', targetType: 'user', targetId: id, details: { username: user.username } });
      }
      if (next.admin !== (user.is_admin === 1)) {
        this.s.setAdmin.run(next.admin ? 1 : 0, id);
        this.d.audit.record({ actorId, action: 'admin.user.role', targetType: 'user', targetId: id, details: { username: user.username, admin: next.admin } });
      }
    })();
    // disabled: every session ends and every socket closes at once
    if (next.disabled && user.disabled === 0) this.d.sessions.revokeAllOf(id, 'account-disabled');
    else this.d.sessions.forgetUser(id);
    this.d.events.emit('user-changed', id);
    return this.view(id);
  }

  async resetPassword(actorId: string, id: string, password: string): Promise<void> {
    const user = this.d.users.byId(id);
    if (!user) return fail('not-found');
    checkPassword(password);
    const hash = await hashPassword(password);
    this.d.db.transaction(() => {
      this.d.users.setPassword(id, hash);
      this.d.audit.record({ actorId, action: 'admin.user.password', targetType: 'user', targetId: id, details: { username: user.username } });
    })();
    this.d.sessions.revokeAllOf(id);
  }

  deleteUser(actorId: string, id: string): void {
    const user = this.d.users.byId(id);
    if (!user) return fail('not-found');
    this.keepsAnAdmin(user, { disabled: true, admin: false });
    this.d.accounts.deleteAccountInTx(id, () => {
      this.d.audit.record({ actorId, action: 'admin.user.delete', targetType: 'user', targetId: id, details: { username: user.username } });
    });
  }

  sessionsOf(id: string) {
    if (!this.d.users.byId(id)) fail('not-found');
    return this.d.sessions.list(id).map((r) => ({ id: r.id, createdAt: r.created_at, lastUsedAt: r.last_used_at, expiresAt: r.expires_at, userAgent: r.user_agent }));
  }

  revokeSession(actorId: string, userId: string, sessionId: string): void {
    if (!this.d.sessions.list(userId).some((r) => r.id === sessionId)) fail('not-found');
    this.d.db.transaction(() => this.d.audit.record({ actorId, action: 'admin.session.revoke', targetType: 'session', targetId: sessionId, details: { userId } }))();
    this.d.sessions.revoke([sessionId]);
  }

  // ---- rooms ----------------------------------------------------------------------------------

  listRooms(q: string, limit: number, offset: number) {
    const p = { ...this.like(q), limit, offset };
    const rows = this.s.rooms.all(p) as { id: string; name: string; kind: string; visibility: string; members: number; messages: number; bytes: number; last_activity_at: number; created_at: number }[];
    return {
      rooms: rows.map((r) => ({ id: r.id, name: r.name, kind: r.kind, visibility: r.visibility, members: r.members, messages: r.messages, bytes: r.bytes, lastActivityAt: r.last_activity_at, createdAt: r.created_at })),
      total: this.s.roomCount.get(p) as number,
    };
  }

  removeRoom(actorId: string, roomId: string): void {
    const room = this.d.rooms.byId(roomId);
    if (!room) return fail('not-found');
    this.d.roomService.removeRoom(roomId, () => this.d.audit.record({ actorId, action: 'admin.room.remove', targetType: 'room', targetId: roomId, roomId, details: { name: room.name } }));
  }

  // ---- settings ---------------------------------------------------------------------------------

  settings() {
    return { ...this.d.settings.get(), avAvailable: this.d.avAvailable };
  }

  updateSettings(actorId: string, patch: Partial<Settings>) {
    const { next, changed } = this.d.db.transaction(() => {
      const before = this.d.settings.get();
      const r = this.d.settings.updateInTx(patch, this.d.avAvailable);
      if (r.changed.length) {
        this.d.audit.record({
          actorId, action: 'settings.change', targetType: 'settings', targetId: r.changed.join(','),
          details: Object.fromEntries(r.changed.map((k) => [k, { from: before[k], to: r.next[k] }])),
        });
      }
      return r;
    })();
    this.d.settings.applied(next, changed);
    return this.settings();
  }
}
