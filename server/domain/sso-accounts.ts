/**
 * Accounts of single sign-on. A verified OIDC login is linked to an account by (issuer, subject)
 * only: the first login provisions a new account (no password, never a server admin), every later
 * one lands on the same account. Email is never used to find an account: an address can be
 * re-assigned, or unverified at the provider.
 *
 * Sessions are the password login's own (`SessionService.create`), and server admins' logins are
 * audited the same way (`auth.admin-login`, with `method: 'oidc'`).
 */
import type { Db } from '../db/database.ts';
import type { UsersRepo, UserRow } from '../repos/users.ts';
import { toPublicUser } from '../repos/users.ts';
import type { OidcIdentitiesRepo } from '../repos/oidc-identities.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { OidcLogin } from '../auth/oidc.ts';
import type { AuditEntry } from './audit.ts';
import type { Clock, Ids } from './deps.ts';
import { USERNAME } from './accounts.ts';
import { fail } from './errors.ts';

export interface SsoDeps {
  db: Db;
  users: UsersRepo;
  identities: OidcIdentitiesRepo;
  sessions: SessionService;
  clock: Clock;
  ids: Ids;
  audit: (e: AuditEntry) => void;
  /** The claim a new account's username comes from (OIDC_USERNAME_CLAIM). */
  usernameClaim: string;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * A claim value made into our username rules (3-20 of `A-Za-z0-9_`): accents dropped, anything else
 * becomes `_`, lower case (usernames are unique case-insensitively). Null when too little is left.
 */
export function normaliseUsername(raw: string): string | null {
  const ascii = raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  const name = ascii.replace(/[^a-z0-9_]+/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '').slice(0, 20).replace(/_$/, '');
  return name.length >= 3 ? name : null;
}

/** Candidates in order: the configured claim, the local part of `email`, then `user`. */
export function baseUsername(claims: Record<string, unknown>, claim: string): string {
  return normaliseUsername(str(claims[claim])) ?? normaliseUsername(str(claims.email).split('@')[0]) ?? 'user';
}

export class SsoAccounts {
  constructor(private d: SsoDeps) {}

  /** Signs in (provisioning on the first login) and opens a session; refused for a disabled account. */
  signIn(login: OidcLogin, userAgent = '') {
    const now = this.d.clock.now();
    const email = str(login.claims.email).slice(0, 320);
    const user = this.d.db.transaction((): UserRow => {
      const link = this.d.identities.find(login.issuer, login.subject);
      if (link) {
        const linked = this.d.users.byId(link.user_id)!;
        if (!linked.disabled) this.d.identities.touch(login.issuer, login.subject, now, email);
        return linked;
      }
      const id = this.d.ids.next();
      const username = this.freeUsername(baseUsername(login.claims, this.d.usernameClaim));
      const displayName = (str(login.claims.name).trim() || username).slice(0, 50);
      this.d.users.insert({ id, username, display_name: displayName, password_hash: null, is_admin: 0, created_at: now });
      this.d.identities.insert({ issuer: login.issuer, subject: login.subject, user_id: id, email, created_at: now, last_login_at: now });
      this.d.audit({ actorId: id, action: 'auth.oidc-provision', targetType: 'user', targetId: id, details: { issuer: login.issuer, username } });
      return this.d.users.byId(id)!;
    })();
    if (user.disabled) fail('oidc-account-disabled');
    if (user.is_admin) this.d.db.transaction(() => this.d.audit({ actorId: user.id, action: 'auth.admin-login', targetType: 'user', targetId: user.id, details: { method: 'oidc' } }))();
    const { token, session } = this.d.sessions.create(user.id, userAgent);
    return { user: toPublicUser(user), token, session };
  }

  /** `base`, else `base2`, `base3`, … cut to fit 20 characters. Call inside the provisioning transaction. */
  private freeUsername(base: string): string {
    for (let n = 1; n < 10_000; n++) {
      const suffix = n === 1 ? '' : String(n);
      const candidate = base.slice(0, 20 - suffix.length) + suffix;
      if (USERNAME.test(candidate) && !this.d.users.byUsername(candidate)) return candidate;
    }
    return fail('username-taken');
  }
}
