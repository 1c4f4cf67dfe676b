/**
 * Invite links for `registration: invite-only`. A server admin makes a link that lets N people
 * register within D days (`/login?invite=<secret>`); only the secret's SHA-256 is stored, so the
 * link is shown once, at creation. A registration spends one use inside its own transaction with a
 * conditional UPDATE, so two people racing for the last use cannot both get in. Revoking a link
 * stops further use; accounts made with it stay. Every change is audited.
 */
import crypto from 'node:crypto';
import type { Db } from '../db/database.ts';
import type { Clock, Ids } from './deps.ts';
import type { AuditEntry } from './audit.ts';
import { fail } from './errors.ts';

export interface InviteRow {
  id: string;
  token_hash: Buffer;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  max_uses: number;
  uses: number;
  revoked_at: number | null;
  note: string;
}

export interface InviteView {
  id: string;
  createdBy: string | null;
  createdByName: string;
  createdAt: number;
  expiresAt: number;
  maxUses: number;
  uses: number;
  revokedAt: number | null;
  note: string;
  state: 'active' | 'used-up' | 'expired' | 'revoked';
}

export const INVITE_LIMITS = { maxUses: 500, maxDays: 90, defaultUses: 1, defaultDays: 7, noteChars: 100 } as const;

const hash = (secret: string) => crypto.createHash('sha256').update(secret).digest();
/** An invite secret is 32 url-safe characters (24 random bytes); anything else is not looked up. */
const SECRET = /^[A-Za-z0-9_-]{32}$/;

export class InviteService {
  private s;

  constructor(private d: { db: Db; clock: Clock; ids: Ids; audit: (e: AuditEntry) => void }) {
    const db = d.db;
    this.s = {
      insert: db.prepare(`INSERT INTO invites (id, token_hash, created_by, created_at, expires_at, max_uses, note)
                          VALUES (@id, @token_hash, @created_by, @created_at, @expires_at, @max_uses, @note)`),
      byHash: db.prepare<[Buffer], InviteRow>('SELECT * FROM invites WHERE token_hash = ?'),
      byId: db.prepare<[string], InviteRow>('SELECT * FROM invites WHERE id = ?'),
      list: db.prepare<[], InviteRow & { creator: string | null }>(`SELECT i.*, u.display_name AS creator FROM invites i
                        LEFT JOIN users u ON u.id = i.created_by ORDER BY i.created_at DESC, i.id LIMIT 200`),
      spend: db.prepare(`UPDATE invites SET uses = uses + 1
                         WHERE id = ? AND revoked_at IS NULL AND uses < max_uses AND expires_at > ?`),
      revoke: db.prepare('UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      markUser: db.prepare('UPDATE users SET invite_id = ? WHERE id = ?'),
    };
  }

  /** Makes a link; the secret is returned once and never stored. */
  create(actorId: string, input: { maxUses?: number; days?: number; note?: string }): { invite: InviteView; secret: string } {
    const maxUses = input.maxUses ?? INVITE_LIMITS.defaultUses;
    const days = input.days ?? INVITE_LIMITS.defaultDays;
    if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > INVITE_LIMITS.maxUses) fail('validation-failed', `maxUses: 1-${INVITE_LIMITS.maxUses}`);
    if (!Number.isInteger(days) || days < 1 || days > INVITE_LIMITS.maxDays) fail('validation-failed', `days: 1-${INVITE_LIMITS.maxDays}`);
    const note = (input.note ?? '').normalize('NFC').replace(/\p{Cc}/gu, ' ').trim();
    if (note.length > INVITE_LIMITS.noteChars) fail('validation-failed', `note: at most ${INVITE_LIMITS.noteChars} characters`);
    const secret = crypto.randomBytes(24).toString('base64url');
    const id = this.d.ids.next();
    const now = this.d.clock.now();
    this.d.db.transaction(() => {
      this.s.insert.run({ id, token_hash: hash(secret), created_by: actorId, created_at: now, expires_at: now + days * 86_400_000, max_uses: maxUses, note });
      this.d.audit({ actorId, action: 'admin.invite-create', targetType: 'invite', targetId: id, details: { maxUses, days, note } });
    })();
    return { invite: this.view(this.s.byId.get(id)!), secret };
  }

  list(): InviteView[] {
    return this.s.list.all().map((r) => this.view(r, r.creator ?? ''));
  }

  revoke(actorId: string, id: string): InviteView {
    const row = this.s.byId.get(id);
    if (!row) return fail('not-found');
    this.d.db.transaction(() => {
      if (this.s.revoke.run(this.d.clock.now(), id).changes === 1) this.d.audit({ actorId, action: 'admin.invite-revoke', targetType: 'invite', targetId: id });
    })();
    return this.view(this.s.byId.get(id)!);
  }

  /** For the login page: does this link still let someone register? Never says why not. */
  check(secret: string): { expiresAt: number } {
    const row = this.find(secret);
    if (!row || this.stateOf(row) !== 'active') return fail('invite-invalid');
    return { expiresAt: row.expires_at };
  }

  /** Spends one use for the new account `userId`; call inside the registration's transaction. */
  spend(secret: string, userId: string): void {
    const row = this.find(secret);
    if (!row || this.s.spend.run(row.id, this.d.clock.now()).changes !== 1) return fail('invite-invalid');
    this.s.markUser.run(row.id, userId);
    this.d.audit({ actorId: userId, action: 'auth.register-invite', targetType: 'invite', targetId: row.id });
  }

  private find(secret: string): InviteRow | undefined {
    return SECRET.test(secret) ? this.s.byHash.get(hash(secret)) : undefined;
  }

  private stateOf(r: InviteRow): InviteView['state'] {
    if (r.revoked_at !== null) return 'revoked';
    if (r.uses >= r.max_uses) return 'used-up';
    if (r.expires_at <= this.d.clock.now()) return 'expired';
    return 'active';
  }

  private view(r: InviteRow, createdByName = ''): InviteView {
    return {
      id: r.id, createdBy: r.created_by, createdByName, createdAt: r.created_at, expiresAt: r.expires_at, maxUses: r.max_uses,
      uses: r.uses, revokedAt: r.revoked_at, note: r.note, state: this.stateOf(r),
    };
  }
}
