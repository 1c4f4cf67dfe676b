/** Sessions (Lucia recipe): token format, validation, sliding expiry, revocation; fake clock. */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeDomain, makeUser, type Domain } from '../helpers/domain.ts';

const DAY = 24 * 3600 * 1000;
const LIFETIME = 30 * DAY;

let d: Domain;
let user: { id: string };
beforeEach(() => {
  d = makeDomain({ sessionDays: 30 });
  user = makeUser(d);
});

describe('a session token', () => {
  it('is `<id>.<secret>` in lower-case base32, and only a hash of the secret is stored', () => {
    const { token, session } = d.sessions.create(user.id, 'Firefox');
    expect(token).toMatch(/^[a-z2-7]{24}\.[a-z2-7]{24}$/);
    const [id, secret] = token.split('.');
    expect(id).toBe(session.id);
    const row = d.sessions.list(user.id)[0];
    expect(row).toMatchObject({ id, user_id: user.id, user_agent: 'Firefox', expires_at: d.clock.now() + LIFETIME });
    expect(row.secret_hash.length).toBe(32);
    expect(Buffer.from(row.secret_hash).toString('latin1')).not.toContain(secret);
  });

  it('is different every time', () => {
    const tokens = new Set(Array.from({ length: 20 }, () => d.sessions.create(user.id).token));
    expect(tokens.size).toBe(20);
  });
});

describe('validation', () => {
  it('returns the session and its user for the right token', () => {
    const { token, session } = d.sessions.create(user.id);
    expect(d.sessions.validate(token)).toMatchObject({ session: { id: session.id, userId: user.id }, user: { id: user.id } });
  });

  it('rejects a wrong secret, also while the session is cached', () => {
    const { token } = d.sessions.create(user.id);
    const [id, secret] = token.split('.');
    const wrong = `${id}.${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`;
    expect(d.sessions.validate(wrong)).toBeNull(); // straight from the database
    expect(d.sessions.validate(token)).not.toBeNull();
    expect(d.sessions.validate(wrong)).toBeNull(); // from the cache
    expect(d.sessions.validate(`${id}.`)).toBeNull();
  });

  it('rejects unknown and malformed tokens', () => {
    d.sessions.create(user.id);
    for (const t of [null, undefined, '', 'nodot', '.secret', 'unknownid.secret', `${'a'.repeat(150)}.${'b'.repeat(60)}`]) {
      expect(d.sessions.validate(t)).toBeNull();
    }
  });

  it('rejects an expired session and deletes it', () => {
    const { token, session } = d.sessions.create(user.id);
    d.clock.advance(LIFETIME);
    expect(d.sessions.validate(token)).toBeNull();
    expect(d.sessions.list(user.id).map((s) => s.id)).not.toContain(session.id);
  });

  it('slides the expiry forward once less than half of the lifetime is left', () => {
    const { token, session } = d.sessions.create(user.id);
    d.clock.advance(10 * DAY);
    expect(d.sessions.validate(token)!.session.expiresAt).toBe(session.expiresAt); // more than half left: unchanged
    d.clock.advance(10 * DAY);
    const slid = d.sessions.validate(token)!.session.expiresAt;
    expect(slid).toBe(d.clock.now() + LIFETIME);
    expect(d.sessions.list(user.id)[0].expires_at).toBe(slid);
    d.clock.advance(25 * DAY); // past the original expiry
    expect(d.sessions.validate(token)).not.toBeNull();
  });

  it('lets a session that is not used expire', () => {
    const { token } = d.sessions.create(user.id);
    d.clock.advance(14 * DAY);
    expect(d.sessions.validate(token)).not.toBeNull();
    d.clock.advance(LIFETIME - 14 * DAY - 1);
    expect(d.sessions.validate(token)).not.toBeNull(); // slid at day 29.99…
    d.clock.advance(LIFETIME);
    expect(d.sessions.validate(token)).toBeNull();
  });
});

describe('revocation', () => {
  it('of one session takes effect at once, even right after it was validated', () => {
    const a = d.sessions.create(user.id);
    const b = d.sessions.create(user.id);
    expect(d.sessions.validate(a.token)).not.toBeNull();
    d.sessions.revoke([a.session.id]);
    expect(d.sessions.validate(a.token)).toBeNull();
    expect(d.sessions.validate(b.token)).not.toBeNull();
    expect(d.events).toEqual([{ name: 'sessions-revoked', args: [[a.session.id], 'session-revoked'] }]);
  });

  it('of the others keeps the current session and spares other users', () => {
    const other = makeUser(d);
    const current = d.sessions.create(user.id);
    const s2 = d.sessions.create(user.id);
    const s3 = d.sessions.create(user.id);
    const foreign = d.sessions.create(other.id);
    for (const s of [current, s2, s3, foreign]) expect(d.sessions.validate(s.token)).not.toBeNull();

    const revoked = d.sessions.revokeOthers(user.id, current.session.id);
    expect(revoked.sort()).toEqual([s2.session.id, s3.session.id].sort());
    expect(d.sessions.validate(current.token)).not.toBeNull();
    expect(d.sessions.validate(s2.token)).toBeNull();
    expect(d.sessions.validate(s3.token)).toBeNull();
    expect(d.sessions.validate(foreign.token)).not.toBeNull();
    expect(d.sessions.list(user.id).map((s) => s.id)).toEqual([current.session.id]);
  });

  it('emits nothing when there is nothing to revoke', () => {
    const current = d.sessions.create(user.id);
    expect(d.sessions.revokeOthers(user.id, current.session.id)).toEqual([]);
    expect(d.events).toEqual([]);
  });

  it('of all sessions of a user ends every one of them', () => {
    const a = d.sessions.create(user.id);
    const b = d.sessions.create(user.id);
    d.sessions.validate(a.token);
    d.sessions.revokeAllOf(user.id);
    expect(d.sessions.validate(a.token)).toBeNull();
    expect(d.sessions.validate(b.token)).toBeNull();
  });
});

describe('a disabled user', () => {
  it('cannot use an existing session once the user is re-read', () => {
    const { token } = d.sessions.create(user.id);
    expect(d.sessions.validate(token)).not.toBeNull();
    d.db.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(user.id);
    d.sessions.forgetUser(user.id);
    expect(d.sessions.validate(token)).toBeNull();
  });
});
