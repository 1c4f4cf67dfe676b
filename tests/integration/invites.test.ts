/**
 * Invite links (issue 10 §2, registration invite-only), from outside: a server admin makes a link
 * for N registrations within D days; with `registration: invite-only` nobody registers without a
 * working link; a link is spent once per account, also when two people race for its last use;
 * revoked and expired links stop working; only admins see or make links; every step is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, makeUser, startServer, type TestServer, type TestUser } from '../helpers/server.ts';

const PASSWORD = 'password123';
let offset = 0;
const clock = { now: () => Date.now() + offset };
let server: TestServer;
let admin: TestUser;
let alice: TestUser;
const anon = () => apiClient(server.url);
const register = (username: string, invite?: string) => anon()('POST', '/api/register', { username, password: PASSWORD, ...(invite !== undefined ? { invite } : {}) });

beforeAll(async () => {
  server = await startServer({}, { clock });
  admin = await makeUser(server, 'inviteadmin');
  alice = await makeUser(server, 'invitealice');
  expect((await admin.api('PATCH', '/api/admin/settings', { registration: 'invite-only' })).status).toBe(200);
});
afterAll(() => server.close());

describe('invite links', () => {
  it('only server admins make, list or revoke links (others get the missing-page answer)', async () => {
    expect((await alice.api('POST', '/api/admin/invites', {})).status).toBe(404);
    expect((await alice.api('GET', '/api/admin/invites')).status).toBe(404);
    expect((await anon()('POST', '/api/admin/invites', {})).status).toBe(404);
    // positive control
    expect((await admin.api('POST', '/api/admin/invites', {})).status).toBe(201);
  });

  it('refuses registration without a link, with a bad one, and with nonsense', async () => {
    expect((await register('nolink')).body.error.code).toBe('invite-required');
    expect((await register('badlink', 'A'.repeat(32))).body.error.code).toBe('invite-invalid');
    expect((await register('shortlink', 'x')).body.error.code).toBe('invite-invalid');
    expect((await register('wrongtype', 42 as unknown as string)).body.error.code).toBe('validation-failed');
    expect((await anon()('POST', '/api/invites/check', { invite: 'B'.repeat(32) })).body.error.code).toBe('invite-invalid');
    const users = (await admin.api('GET', '/api/admin/users?q=link')).body.users;
    expect(users).toEqual([]);
  });

  it('lets N people register with one link, then is used up', async () => {
    const made = await admin.api('POST', '/api/admin/invites', { maxUses: 2, days: 3, note: '신입 사원 12월' });
    expect(made.status).toBe(201);
    const { secret, invite, path } = made.body;
    expect(path).toBe(`/login?invite=${secret}`);
    expect(invite).toMatchObject({ maxUses: 2, uses: 0, state: 'active', note: '신입 사원 12월' });
    expect((await anon()('POST', '/api/invites/check', { invite: secret })).body.invite.expiresAt).toBe(invite.expiresAt);
    expect((await register('newbie1', secret)).status).toBe(201);
    expect((await register('newbie2', secret)).status).toBe(201);
    expect((await register('newbie3', secret)).body.error.code).toBe('invite-invalid');
    expect((await anon()('POST', '/api/invites/check', { invite: secret })).body.error.code).toBe('invite-invalid');
    const listed = (await admin.api('GET', '/api/admin/invites')).body.invites.find((i: { id: string }) => i.id === invite.id);
    expect(listed).toMatchObject({ uses: 2, state: 'used-up', createdByName: expect.any(String) });
    // the secret is never listed
    expect(JSON.stringify((await admin.api('GET', '/api/admin/invites')).body)).not.toContain(secret);
  });

  it('gives the last use to exactly one of two racing registrations', async () => {
    const { secret } = (await admin.api('POST', '/api/admin/invites', { maxUses: 1 })).body;
    const results = await Promise.all([register('racer_a', secret), register('racer_b', secret), register('racer_c', secret)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 403, 403]);
    expect(results.filter((r) => r.status === 403).map((r) => r.body.error.code)).toEqual(['invite-invalid', 'invite-invalid']);
    const racers = (await admin.api('GET', '/api/admin/users?q=racer_')).body.users;
    expect(racers).toHaveLength(1);
  });

  it('stops a revoked link and an expired one; accounts already made stay', async () => {
    const a = (await admin.api('POST', '/api/admin/invites', { maxUses: 5 })).body;
    expect((await register('beforerevoke', a.secret)).status).toBe(201);
    expect((await admin.api('DELETE', `/api/admin/invites/${a.invite.id}`)).body.invite.state).toBe('revoked');
    expect((await register('afterrevoke', a.secret)).body.error.code).toBe('invite-invalid');
    expect((await anon()('POST', '/api/login', { username: 'beforerevoke', password: PASSWORD })).status).toBe(200);

    const b = (await admin.api('POST', '/api/admin/invites', { maxUses: 5, days: 1 })).body;
    offset = 86_400_000 + 1000;
    try {
      expect((await register('tooLate', b.secret)).body.error.code).toBe('invite-invalid');
      const listed = (await admin.api('GET', '/api/admin/invites')).body.invites.find((i: { id: string }) => i.id === b.invite.id);
      expect(listed.state).toBe('expired');
    } finally {
      offset = 0;
    }
    expect((await admin.api('DELETE', '/api/admin/invites/nope')).status).toBe(404);
  });

  it('validates what an admin asks for', async () => {
    for (const body of [{ maxUses: 0 }, { maxUses: 501 }, { days: 0 }, { days: 91 }, { maxUses: 1.5 }, { note: 'x'.repeat(101) }, { extra: true }]) {
      expect((await admin.api('POST', '/api/admin/invites', body)).body.error.code, JSON.stringify(body)).toBe('validation-failed');
    }
  });

  it('is ignored when registration is open and refused when closed', async () => {
    const { secret } = (await admin.api('POST', '/api/admin/invites', { maxUses: 1 })).body;
    await admin.api('PATCH', '/api/admin/settings', { registration: 'closed' });
    expect((await register('closedcomer', secret)).body.error.code).toBe('registration-closed');
    await admin.api('PATCH', '/api/admin/settings', { registration: 'open' });
    expect((await register('opencomer')).status).toBe(201);
    await admin.api('PATCH', '/api/admin/settings', { registration: 'invite-only' });
    // the open registration did not spend the link
    expect((await register('stillvalid', secret)).status).toBe(201);
  });

  it('audits making, revoking and using links', async () => {
    const entries = (await admin.api('GET', '/api/admin/audit?limit=100')).body.entries as { action: string; targetType: string }[];
    const actions = new Set(entries.map((e) => e.action));
    for (const a of ['admin.invite-create', 'admin.invite-revoke', 'auth.register-invite']) expect(actions, a).toContain(a);
  });
});
