/**
 * Sessions after the Lucia recipe: token = `<id>.<secret>`, only SHA-256(secret) is stored and compared
 * in constant time; expiry slides forward when less than half of the lifetime is left.
 * Lookups are cached briefly (onAuthenticate runs once per document per reconnect); revoking goes
 * through this module so the cache is dropped in the same step.
 *
 * Ended sessions (revoked, expired, their account deleted or disabled) leave a tombstone in memory, so
 * that their holder is told `session-revoked` rather than `unauthorized` (a token that never existed).
 * A tombstone keeps the secret's hash when it was known: only the holder of the real token gets the
 * different answer. Tombstones live for one session lifetime, at most MAX_TOMBSTONES of them, and do
 * not survive a restart (after one, an ended session's holder gets `unauthorized`: still a 401).
 */
import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import crypto from 'node:crypto';
import type { SessionsRepo, SessionRow } from '../repos/sessions.ts';
import type { UsersRepo, UserRow } from '../repos/users.ts';
import type { Clock, EventBus } from '../domain/deps.ts';

const DAY = 24 * 60 * 60 * 1000;
const CACHE_MS = 15_000;
const MAX_TOMBSTONES = 50_000;

export interface Session {
  id: string;
  userId: string;
  expiresAt: number;
}

export interface Authenticated {
  session: Session;
  user: UserRow;
}

const randomPart = () => encodeBase32LowerCaseNoPadding(crypto.randomBytes(15));
const hashSecret = (secret: string) => sha256(new TextEncoder().encode(secret));

export class SessionService {
  private cache = new Map<string, { auth: Authenticated; at: number }>();
  /** Ended session id → when it ended and its secret's hash (null when the row was already gone). Oldest first. */
  private tombstones = new Map<string, { at: number; secretHash: Uint8Array | null }>();

  constructor(
    private sessions: SessionsRepo,
    private users: UsersRepo,
    private clock: Clock,
    private events: EventBus,
    private lifetimeMs: number = 30 * DAY,
  ) {}

  create(userId: string, userAgent = ''): { token: string; session: Session } {
    const id = randomPart();
    const secret = randomPart();
    const now = this.clock.now();
    const row: SessionRow = {
      id,
      secret_hash: Buffer.from(hashSecret(secret)),
      user_id: userId,
      created_at: now,
      last_used_at: now,
      expires_at: now + this.lifetimeMs,
      user_agent: userAgent.slice(0, 200),
    };
    this.sessions.insert(row);
    return { token: `${id}.${secret}`, session: { id, userId, expiresAt: row.expires_at } };
  }

  /** Returns the session and its user, or null for a malformed, unknown, expired or disabled one. */
  validate(token: string | null | undefined): Authenticated | null {
    if (!token || token.length > 200) return null;
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const id = token.slice(0, dot);
    const secret = token.slice(dot + 1);
    const now = this.clock.now();
    const cached = this.cache.get(id);
    if (cached && now - cached.at < CACHE_MS) {
      // the secret is still checked: the cache saves the database, not the comparison
      return this.secretMatches(cached.auth, secret) ? cached.auth : null;
    }
    const row = this.sessions.byId(id);
    if (!row) return null;
    if (!constantTimeEqual(hashSecret(secret), new Uint8Array(row.secret_hash))) return null;
    if (row.expires_at <= now) {
      this.revoke([id]);
      return null;
    }
    const user = this.users.byId(row.user_id);
    if (!user || user.disabled) return null;
    let expiresAt = row.expires_at;
    if (expiresAt - now < this.lifetimeMs / 2) expiresAt = now + this.lifetimeMs;
    if (expiresAt !== row.expires_at || now - row.last_used_at > 60_000) this.sessions.touch(id, now, expiresAt);
    const auth: Authenticated = { session: { id, userId: row.user_id, expiresAt }, user };
    (auth as Authenticated & { secretHash?: Uint8Array }).secretHash = new Uint8Array(row.secret_hash);
    this.cache.set(id, { auth, at: now });
    return auth;
  }

  private secretMatches(auth: Authenticated, secret: string): boolean {
    const stored = (auth as Authenticated & { secretHash?: Uint8Array }).secretHash;
    return !!stored && constantTimeEqual(hashSecret(secret), stored);
  }

  /**
   * Why `validate` refused a token: `session-revoked` for a session that existed and has ended (its
   * real token), `unauthorized` for anything else (no token, malformed, unknown, wrong secret).
   */
  refusal(token: string | null | undefined): 'session-revoked' | 'unauthorized' {
    if (!token || token.length > 200) return 'unauthorized';
    const dot = token.indexOf('.');
    if (dot <= 0) return 'unauthorized';
    const stone = this.tombstones.get(token.slice(0, dot));
    if (!stone || this.clock.now() - stone.at > this.lifetimeMs) return 'unauthorized';
    if (stone.secretHash && !constantTimeEqual(hashSecret(token.slice(dot + 1)), stone.secretHash)) return 'unauthorized';
    return 'session-revoked';
  }

  private bury(id: string): void {
    const cached = this.cache.get(id)?.auth as (Authenticated & { secretHash?: Uint8Array }) | undefined;
    const row = cached?.secretHash ? null : this.sessions.byId(id);
    const secretHash = cached?.secretHash ?? (row ? new Uint8Array(row.secret_hash) : null);
    this.tombstones.delete(id);
    this.tombstones.set(id, { at: this.clock.now(), secretHash });
    while (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.keys().next().value!);
  }

  list(userId: string) {
    return this.sessions.byUser(userId);
  }

  /** Deletes sessions, drops them from the cache and tells the collaboration layer to close their sockets. */
  revoke(ids: string[], reason: 'session-revoked' | 'account-disabled' = 'session-revoked'): void {
    for (const id of ids) {
      this.bury(id);
      this.sessions.remove(id);
      this.cache.delete(id);
    }
    if (ids.length) this.events.emit('sessions-revoked', ids, reason);
  }

  revokeOthers(userId: string, keepId: string): string[] {
    for (const row of this.sessions.byUser(userId)) if (row.id !== keepId) this.bury(row.id);
    const ids = this.sessions.removeOthers(userId, keepId);
    for (const id of ids) this.cache.delete(id);
    if (ids.length) this.events.emit('sessions-revoked', ids);
    return ids;
  }

  idsOf(userId: string): string[] {
    return this.sessions.byUser(userId).map((s) => s.id);
  }

  revokeAllOf(userId: string, reason: 'session-revoked' | 'account-disabled' = 'session-revoked'): void {
    this.revoke(this.sessions.byUser(userId).map((s) => s.id), reason);
  }

  /** Drop cached user rows (profile change, disable) so the next lookup reads the database. */
  forgetUser(userId: string): void {
    for (const [id, c] of this.cache) if (c.auth.user.id === userId) this.cache.delete(id);
  }
}
