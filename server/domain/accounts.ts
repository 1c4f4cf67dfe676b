/** Account rules: register, login, profile, password change, account deletion. */
import type { Db } from '../db/database.ts';
import type { UsersRepo } from '../repos/users.ts';
import { toPublicUser } from '../repos/users.ts';
import type { SessionService } from '../auth/sessions.ts';
import { hashPassword, verifyPassword, dummyHash } from '../auth/passwords.ts';
import type { RoomService } from './rooms.ts';
import type { Clock, EventBus, Ids } from './deps.ts';
import { DomainError, fail } from './errors.ts';
import type { LoginLockout } from '../auth/lockout.ts';

export const USERNAME = /^[A-Za-z0-9_]{3,20}$/;
export const PASSWORD_MIN = 8;
/** Longer passwords are refused (`weak-password`), and at login they match nothing. */
export const PASSWORD_MAX = 200;

export function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX || !/[A-Za-z]/.test(password) || !/[0-9]/.test(password)) fail('weak-password');
}

export interface AccountDeps {
  db: Db;
  users: UsersRepo;
  sessions: SessionService;
  rooms: RoomService;
  clock: Clock;
  ids: Ids;
  registration: () => 'open' | 'invite-only' | 'closed';
  invites: Pick<import('./invites.ts').InviteService, 'check' | 'spend'>;
  audit: (e: import('./audit.ts').AuditEntry) => void;
  events: EventBus;
  /** OIDC_ONLY: password login for enabled server admins only (break-glass), no self-registration. */
  ssoOnly?: boolean;
  /** Failed-login lockout (server/auth/lockout.ts); without it logins are limited by the HTTP rate limit only. */
  lockout?: LoginLockout;
}

export class AccountService {
  constructor(private d: AccountDeps) {}

  async register(input: { username: string; password: string; displayName?: string; invite?: string }, userAgent = '') {
    // SSO only: accounts come from the provider (the very first one, the break-glass admin, still registers)
    if (this.d.ssoOnly && this.d.users.count() > 0) fail('password-login-disabled');
    // the first account can always register (it becomes the server admin); then the setting decides
    const mode = this.d.users.count() === 0 ? 'open' : this.d.registration();
    if (mode === 'closed') fail('registration-closed');
    const invite = mode === 'invite-only' ? input.invite : undefined;
    if (mode === 'invite-only') {
      if (!invite) return fail('invite-required');
      this.d.invites.check(invite);
    }
    if (!USERNAME.test(input.username)) fail('invalid-username');
    checkPassword(input.password);
    const displayName = (input.displayName ?? input.username).trim() || input.username;
    if (displayName.length > 50) fail('validation-failed', 'Display names are at most 50 characters.');
    if (this.d.users.byUsername(input.username)) fail('username-taken');
    const hash = await hashPassword(input.password);
    const id = this.d.ids.next();
    this.d.db.transaction(() => {
      // re-check inside the transaction: two registrations may race through the hash above
      if (this.d.users.byUsername(input.username)) fail('username-taken');
      const first = this.d.users.count() === 0;
      this.d.users.insert({ id, username: input.username, display_name: displayName, password_hash: hash, is_admin: first ? 1 : 0, created_at: this.d.clock.now() });
      // the last use of a link can be raced: the conditional spend decides, and a loser's account rolls back
      if (invite) this.d.invites.spend(invite, id);
    })();
    const { token, session } = this.d.sessions.create(id, userAgent);
    return { user: toPublicUser(this.d.users.byId(id)!), token, session };
  }

  /** `ip` keys the failed-login lockout: a lock refuses (`login-locked`) before any password is checked. */
  async login(input: { username: string; password: string }, userAgent = '', ip = 'unknown') {
    const lockout = this.d.lockout;
    const wait = lockout?.retryAfterSec(input.username, ip) ?? 0;
    if (wait > 0) {
      const e = new DomainError('login-locked');
      e.retryAfterSec = wait;
      throw e;
    }
    const user = this.d.users.byUsername(input.username);
    if (!user || input.password.length > PASSWORD_MAX) {
      // the same work as a wrong password, so that timing tells nothing about the username
      await verifyPassword(await dummyHash(), input.password.slice(0, PASSWORD_MAX));
      lockout?.failed(input.username, ip);
      return fail('invalid-credentials');
    }
    if (!(await verifyPassword(user.password_hash, input.password))) {
      if (user.is_admin) this.d.db.transaction(() => this.d.audit({ actorId: user.id, action: 'auth.admin-login-failed', targetType: 'user', targetId: user.id }))();
      lockout?.failed(input.username, ip);
      fail('invalid-credentials');
    }
    lockout?.succeeded(input.username, ip);
    if (user.disabled) fail('account-disabled');
    // after the password check: a wrong password reads the same for everyone (no admin oracle)
    if (this.d.ssoOnly && !user.is_admin) fail('password-login-disabled');
    if (user.is_admin) this.d.db.transaction(() => this.d.audit({ actorId: user.id, action: 'auth.admin-login', targetType: 'user', targetId: user.id }))();
    const { token, session } = this.d.sessions.create(user.id, userAgent);
    return { user: toPublicUser(user), token, session };
  }

  me(userId: string) {
    const u = this.d.users.byId(userId);
    if (!u) return fail('not-found');
    return toPublicUser(u);
  }

  updateProfile(userId: string, input: { displayName?: string; statusMessage?: string }) {
    const u = this.d.users.byId(userId);
    if (!u) return fail('not-found');
    const displayName = input.displayName !== undefined ? input.displayName.trim() : u.display_name;
    const status = input.statusMessage !== undefined ? input.statusMessage.trim() : u.status_message;
    if (!displayName || displayName.length > 50) fail('validation-failed', 'Display names are 1-50 characters.');
    if (status.length > 140) fail('validation-failed', 'Status messages are at most 140 characters.');
    this.d.users.updateProfile(userId, displayName, status);
    this.d.sessions.forgetUser(userId);
    // names appear in heads (members), in peers' room lists (1:1) and in the user's own profile
    this.d.events.emit('user-changed', userId);
    for (const roomId of this.d.rooms.roomIdsOf(userId)) this.d.events.emit('room-changed', roomId);
    return this.me(userId);
  }

  /** Changes the password and ends every other session of the user (HTTP and live sockets). */
  async changePassword(userId: string, sessionId: string, input: { currentPassword: string; newPassword: string }) {
    const u = this.d.users.byId(userId);
    if (!u) return fail('not-found');
    if (!(await verifyPassword(u.password_hash, input.currentPassword))) fail('invalid-credentials');
    checkPassword(input.newPassword);
    this.d.users.setPassword(userId, await hashPassword(input.newPassword));
    this.d.sessions.revokeOthers(userId, sessionId);
  }

  /** An account made by an admin or `npm run admin` (registration rules do not apply); `inTx` runs in its transaction. */
  async createUser(input: { username: string; password: string; displayName?: string }, inTx: (id: string) => void = () => {}): Promise<string> {
    if (!USERNAME.test(input.username)) fail('invalid-username');
    checkPassword(input.password);
    const displayName = (input.displayName ?? input.username).trim() || input.username;
    if (displayName.length > 50) fail('validation-failed', 'Display names are at most 50 characters.');
    const hash = await hashPassword(input.password);
    const id = this.d.ids.next();
    this.d.db.transaction(() => {
      if (this.d.users.byUsername(input.username)) fail('username-taken');
      this.d.users.insert({ id, username: input.username, display_name: displayName, password_hash: hash, is_admin: 0, created_at: this.d.clock.now() });
      inTx(id);
    })();
    return id;
  }

  /** Deletes an account without its password (a server admin); `inTx` runs in its transaction. */
  deleteAccountInTx(userId: string, inTx: () => void): void {
    const sessionIds = this.d.sessions.idsOf(userId);
    const announce = this.d.db.transaction(() => {
      inTx();
      const a = this.d.rooms.removeUserEverywhereInTx(userId);
      this.d.users.remove(userId);
      return a;
    })();
    this.d.sessions.revoke(sessionIds);
    for (const a of announce) a();
  }

  /** Deletes the account: leaves every room (admin succession, empty rooms removed), ends all sessions. */
  async deleteAccount(userId: string, password: string) {
    const u = this.d.users.byId(userId);
    if (!u) return fail('not-found');
    if (!(await verifyPassword(u.password_hash, password))) fail('invalid-credentials');
    const sessionIds = this.d.sessions.idsOf(userId);
    // one transaction: rooms left (succession, empty rooms and their documents removed), the user
    // and (by cascade) their sessions; the announcements follow the commit
    const announce = this.d.db.transaction(() => {
      const a = this.d.rooms.removeUserEverywhereInTx(userId);
      this.d.users.remove(userId);
      return a;
    })();
    this.d.sessions.revoke(sessionIds);
    for (const a of announce) a();
  }
}
