/** Account rules (register, login, profile, password change, deletion) on in-memory SQLite. */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeDomain, makeRoom, type Domain } from '../helpers/domain.ts';
import { DomainError } from '../../server/domain/errors.ts';

let d: Domain;
beforeEach(() => {
  d = makeDomain();
});

async function codeOf(fn: () => Promise<unknown> | unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

const PASSWORD = 'password123';
let n = 0;
/** Factory: a registered account (real argon2 hash) with its first session. */
async function makeAccount(username = `acct_${++n}`, password = PASSWORD) {
  const r = await d.accounts.register({ username, password });
  d.clock.advance(1000);
  return { ...r.user, token: r.token, sessionId: r.session.id };
}

describe('registration', () => {
  it('accepts usernames of 3-20 letters, digits and underscores only (invalid-username)', async () => {
    for (const bad of ['ab', 'a'.repeat(21), 'with space', 'dash-ed', 'dot.ted', '한국어이름', 'emoji😀x', '', 'tab\tx', 'new\nline']) {
      expect(await codeOf(() => d.accounts.register({ username: bad, password: PASSWORD })), bad).toBe('invalid-username');
    }
    expect(d.repos.users.count()).toBe(0);
    for (const good of ['abc', 'A_1', 'x'.repeat(20), '___']) {
      const r = await d.accounts.register({ username: good, password: PASSWORD });
      expect(r.user.username).toBe(good);
    }
  });

  it('requires passwords of at least 8 characters with a letter and a digit (weak-password)', async () => {
    for (const bad of ['abc123', 'abcdefgh', '12345678', '        ', 'pass 12', 'a1'.repeat(101)]) {
      expect(await codeOf(() => d.accounts.register({ username: 'someone', password: bad })), bad).toBe('weak-password');
    }
    expect(d.repos.users.count()).toBe(0);
    expect((await d.accounts.register({ username: 'someone', password: 'abcdefg1' })).user.username).toBe('someone');
  });

  it('refuses a username that differs only in case (username-taken)', async () => {
    await makeAccount('Alice');
    expect(await codeOf(() => d.accounts.register({ username: 'alice', password: PASSWORD }))).toBe('username-taken');
    expect(await codeOf(() => d.accounts.register({ username: 'ALICE', password: PASSWORD }))).toBe('username-taken');
    expect(d.repos.users.count()).toBe(1);
  });

  it('makes the first user a server admin and nobody after', async () => {
    const first = await makeAccount();
    const second = await makeAccount();
    expect(first.isAdmin).toBe(true);
    expect(second.isAdmin).toBe(false);
  });

  it('after the first user, invite-only needs an invite link and closed is closed, as the setting says at once', async () => {
    const setRegistration = (registration: 'open' | 'invite-only' | 'closed') => {
      const { next, changed } = d.settings.updateInTx({ registration }, false);
      d.settings.applied(next, changed);
    };
    setRegistration('invite-only');
    const first = await makeAccount();
    expect(first.isAdmin).toBe(true);
    expect(await codeOf(() => d.accounts.register({ username: 'latecomer', password: PASSWORD }))).toBe('invite-required');
    expect(d.repos.users.count()).toBe(1);
    setRegistration('closed');
    expect(await codeOf(() => d.accounts.register({ username: 'latecomer', password: PASSWORD }))).toBe('registration-closed');
    setRegistration('open');
    await makeAccount('latecomer');
  });

  it('stores an argon2id hash, never the password', async () => {
    const u = await makeAccount();
    const row = d.repos.users.byId(u.id)!;
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  });

  it('uses the display name given, else the username', async () => {
    const a = await d.accounts.register({ username: 'kim_minsu', password: PASSWORD, displayName: '  김민수 ' });
    const b = await d.accounts.register({ username: 'lee', password: PASSWORD, displayName: '   ' });
    expect(a.user.displayName).toBe('김민수');
    expect(b.user.displayName).toBe('lee');
    expect(await codeOf(() => d.accounts.register({ username: 'longname', password: PASSWORD, displayName: 'x'.repeat(51) }))).toBe('validation-failed');
  });
});

describe('login', () => {
  it('returns a new session for the right password', async () => {
    const u = await makeAccount('Bora');
    const r = await d.accounts.login({ username: 'bora', password: PASSWORD });
    expect(r.user.id).toBe(u.id);
    expect(r.session.id).not.toBe(u.sessionId);
    expect(d.sessions.validate(r.token)?.user.id).toBe(u.id);
  });

  it('answers a wrong password and an unknown user the same (invalid-credentials)', async () => {
    await makeAccount('bora');
    expect(await codeOf(() => d.accounts.login({ username: 'bora', password: 'password124' }))).toBe('invalid-credentials');
    expect(await codeOf(() => d.accounts.login({ username: 'nobody', password: PASSWORD }))).toBe('invalid-credentials');
    expect(d.sessions.list(d.repos.users.byUsername('bora')!.id)).toHaveLength(1);
  });
});

describe('profile', () => {
  it('updates display name and status message within their limits', async () => {
    const u = await makeAccount();
    expect(d.accounts.updateProfile(u.id, { displayName: ' 새 이름 ', statusMessage: ' 회의 중 ' })).toMatchObject({ displayName: '새 이름', statusMessage: '회의 중' });
    expect(await codeOf(() => d.accounts.updateProfile(u.id, { displayName: '  ' }))).toBe('validation-failed');
    expect(await codeOf(() => d.accounts.updateProfile(u.id, { statusMessage: 'x'.repeat(141) }))).toBe('validation-failed');
    expect(d.accounts.me(u.id)).toMatchObject({ displayName: '새 이름', statusMessage: '회의 중' });
  });

  it('is seen at once by a session validated just before the change', async () => {
    const u = await makeAccount();
    expect(d.sessions.validate(u.token)?.user.display_name).toBe(u.username);
    d.accounts.updateProfile(u.id, { displayName: 'Renamed' });
    expect(d.sessions.validate(u.token)?.user.display_name).toBe('Renamed');
  });
});

describe('password change', () => {
  it('needs the current password (invalid-credentials) and a strong new one (weak-password)', async () => {
    const u = await makeAccount();
    expect(await codeOf(() => d.accounts.changePassword(u.id, u.sessionId, { currentPassword: 'wrong-pass1', newPassword: 'newpass456' }))).toBe('invalid-credentials');
    expect(await codeOf(() => d.accounts.changePassword(u.id, u.sessionId, { currentPassword: PASSWORD, newPassword: 'short1' }))).toBe('weak-password');
    expect((await d.accounts.login({ username: u.username, password: PASSWORD })).user.id).toBe(u.id);
  });

  it('ends every other session of the user and keeps the current one', async () => {
    const u = await makeAccount();
    const other = await d.accounts.login({ username: u.username, password: PASSWORD });
    const third = await d.accounts.login({ username: u.username, password: PASSWORD });
    const stranger = await makeAccount();
    expect(d.sessions.validate(other.token)).not.toBeNull(); // cached: the revocation must drop it
    d.events.length = 0;

    await d.accounts.changePassword(u.id, u.sessionId, { currentPassword: PASSWORD, newPassword: 'newpass456' });
    expect(d.sessions.validate(u.token)?.user.id).toBe(u.id);
    expect(d.sessions.validate(other.token)).toBeNull();
    expect(d.sessions.validate(third.token)).toBeNull();
    expect(d.sessions.validate(stranger.token)).not.toBeNull();
    expect(d.events).toEqual([{ name: 'sessions-revoked', args: [expect.arrayContaining([other.session.id, third.session.id])] }]);
    expect((d.events[0].args[0] as string[]).length).toBe(2);

    expect(await codeOf(() => d.accounts.login({ username: u.username, password: PASSWORD }))).toBe('invalid-credentials');
    expect((await d.accounts.login({ username: u.username, password: 'newpass456' })).user.id).toBe(u.id);
  });
});

describe('account deletion', () => {
  it('needs the password (invalid-credentials) and changes nothing without it', async () => {
    const u = await makeAccount();
    expect(await codeOf(() => d.accounts.deleteAccount(u.id, 'wrong-pass1'))).toBe('invalid-credentials');
    expect(d.accounts.me(u.id).id).toBe(u.id);
    expect(d.sessions.validate(u.token)).not.toBeNull();
  });

  it('ends all sessions and frees the username', async () => {
    const u = await makeAccount('leaving');
    const other = await d.accounts.login({ username: 'leaving', password: PASSWORD });
    await d.accounts.deleteAccount(u.id, PASSWORD);
    expect(d.sessions.validate(u.token)).toBeNull();
    expect(d.sessions.validate(other.token)).toBeNull();
    expect(await codeOf(() => d.accounts.me(u.id))).toBe('not-found');
    expect(await codeOf(() => d.accounts.login({ username: 'leaving', password: PASSWORD }))).toBe('invalid-credentials');
    await makeAccount('leaving');
  });

  it('hands admin rights to the longest-standing member and removes rooms left empty', async () => {
    const [owner, early, late] = [await makeAccount(), await makeAccount(), await makeAccount()];
    const group = makeRoom(d, owner, [late]);
    d.clock.advance(1000);
    d.rooms.invite(owner.id, group.id, [early.id]); // registered earlier, joined later: not the heir
    const solo = makeRoom(d, owner, [late]);
    d.rooms.leave(late.id, solo.id); // owner is alone there now
    const direct = d.rooms.create(owner.id, { memberIds: [early.id] });
    d.events.length = 0;

    await d.accounts.deleteAccount(owner.id, PASSWORD);

    const g = d.rooms.get(late.id, group.id);
    expect(Object.fromEntries(g.members.map((m) => [m.id, m.role]))).toEqual({ [late.id]: 'admin', [early.id]: 'member' });
    expect(d.repos.rooms.byId(solo.id)).toBeUndefined();
    expect(d.rooms.get(early.id, direct.id).members.map((m) => m.id)).toEqual([early.id]);
    expect(d.events).toEqual(expect.arrayContaining([
      { name: 'member-removed', args: [group.id, owner.id] },
      { name: 'room-deleted', args: [solo.id] },
      { name: 'member-removed', args: [direct.id, owner.id] },
    ]));
  });

  it('is one transaction: when a step fails, no room is left, no session ends and nothing is announced', async () => {
    const [owner, other] = [await makeAccount(), await makeAccount()];
    const group = makeRoom(d, owner, [other]);
    const solo = makeRoom(d, owner, [other]);
    d.rooms.leave(other.id, solo.id); // owner is alone there: deleting the account would remove it
    d.events.length = 0;
    // the last step (removing the user row) fails, after every room has been left
    d.db.exec(`CREATE TRIGGER fail_user_delete BEFORE DELETE ON users BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
    await expect(d.accounts.deleteAccount(owner.id, PASSWORD)).rejects.toThrow('disk says no');
    d.db.exec('DROP TRIGGER fail_user_delete');
    expect(d.rooms.get(owner.id, group.id).members.map((m) => m.id).sort()).toEqual([owner.id, other.id].sort());
    expect(d.rooms.get(owner.id, solo.id).members.map((m) => m.id)).toEqual([owner.id]);
    expect(d.repos.rooms.byId(solo.id)).toBeDefined();
    expect(d.sessions.validate(owner.token)).not.toBeNull();
    expect(d.events).toEqual([]);
  });
});
