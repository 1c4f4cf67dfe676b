/**
 * Single sign-on against a real provider (oidc-provider on port 0), driven at the HTTP level with a
 * cookie jar: the authorization code flow with state, nonce and PKCE; linking by (issuer, subject)
 * and never by email; username provisioning; and the attacks — wrong nonce, wrong audience,
 * expired, wrong issuer or forged ID token, replayed or foreign state, tampered code — each next to
 * the honest flow that passes. Browser failures land on `/login?error=<code>`, never on raw JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, makeUser, startServer, TEST_LIMITS, type TestServer } from '../helpers/server.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { FlowClient, listenOidcProvider, type TestProvider } from '../helpers/oidc-provider.ts';

const CLIENT = { client_id: 'messenger', client_secret: 'messenger-secret-0123456789' };

async function startPair(extra: { oidcOnly?: boolean } = {}) {
  const idp = await listenOidcProvider();
  // the redirect URI needs our port, the provider needs the redirect URI: the server discovers lazily
  const server = await startServer({
    oidcIssuer: idp.issuer, oidcClientId: CLIENT.client_id, oidcClientSecret: CLIENT.client_secret,
    oidcRedirectUri: 'http://placeholder/auth/oidc/callback', oidcName: 'Test IdP', oidcOnly: extra.oidcOnly ?? false,
  });
  const redirectUri = `${server.url}/auth/oidc/callback`;
  // the configured redirect URI is the server's, as an operator sets it
  (server.app.services.oidc!.settings as { redirectUri: string }).redirectUri = redirectUri;
  const provider = idp.start([{ ...CLIENT, redirect_uris: [redirectUri] }], {
    alice: { preferred_username: 'alice', name: 'Alice Kim', email: 'alice@corp.example' },
  });
  return { server, provider, redirectUri };
}

interface Attempt {
  flow: FlowClient;
  authUrl: URL;
  callback: URL;
  res: Response;
  location: string;
  sessionCookie: string | undefined;
}

/** One sign-in: our login → the provider's pages as `login` → our callback (each leg can be bent). */
async function signIn(server: TestServer, login: string, bend: { authUrl?: (u: URL) => void; callback?: (u: URL) => void; beforeCallback?: (f: FlowClient) => void } = {}): Promise<Attempt> {
  const flow = new FlowClient();
  const start = await flow.fetch(`${server.url}/auth/oidc/login`);
  expect(start.status).toBe(302);
  const authUrl = new URL(start.headers.get('location')!);
  bend.authUrl?.(authUrl);
  const callback = await flow.throughProvider(authUrl, login, `${server.url}/auth/oidc/callback`);
  bend.callback?.(callback);
  bend.beforeCallback?.(flow);
  const res = await flow.fetch(callback);
  const host = new URL(server.url).host;
  return { flow, authUrl, callback, res, location: res.headers.get('location') ?? '', sessionCookie: flow.cookie(host, 'session') };
}

const me = (server: TestServer, cookie: string | undefined) =>
  apiClient(server.url)('GET', '/api/me', undefined, cookie ? { cookie: `session=${cookie}` } : {});

describe('OIDC sign-in against a real provider', () => {
  let server: TestServer;
  let provider: TestProvider;
  let admin: Awaited<ReturnType<typeof makeUser>>;

  beforeAll(async () => {
    ({ server, provider } = await startPair());
    admin = await makeUser(server, 'root_admin'); // the first account is the server admin
  });
  afterAll(async () => {
    await server?.close();
    await provider?.close();
  });

  it('lists the provider for the login page', async () => {
    const res = await apiClient(server.url)('GET', '/api/auth/providers');
    expect(res).toEqual({ status: 200, body: { password: true, breakGlass: false, oidc: [{ id: 'oidc', name: 'Test IdP', loginUrl: '/auth/oidc/login' }] } });
    expect((await apiClient(server.url)('GET', '/api/config')).body.features.oidc).toBe(true);
  });

  it('sends the browser to the provider with state, nonce and an S256 PKCE challenge, in an httpOnly flow cookie', async () => {
    const flow = new FlowClient();
    const res = await flow.fetch(`${server.url}/auth/oidc/login`);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin).toBe(provider.issuer);
    const q = to.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe('messenger');
    expect(q.get('redirect_uri')).toBe(`${server.url}/auth/oidc/callback`);
    expect(q.get('scope')!.split(' ')).toContain('openid');
    expect(q.get('state')!.length).toBeGreaterThanOrEqual(32);
    expect(q.get('nonce')!.length).toBeGreaterThanOrEqual(32);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('oidc_flow='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/auth\/oidc/);
    // nothing about the flow is in the cookie but a random id
    expect(cookie).not.toContain(q.get('state')!);
  });

  let aliceId = '';
  it('signs in through the provider: a new account from the claims, and the session cookie of a password login', async () => {
    const a = await signIn(server, 'alice');
    expect(a.res.status).toBe(302);
    expect(a.location).toBe('/');
    const session = a.res.headers.getSetCookie().find((c) => c.startsWith('session='))!;
    expect(session).toMatch(/HttpOnly; SameSite=Lax; Path=\/; Max-Age=\d+/);
    // the flow cookie is spent
    expect(a.flow.cookie(new URL(server.url).host, 'oidc_flow')).toBeUndefined();
    const who = await me(server, a.sessionCookie);
    expect(who.status).toBe(200);
    expect(who.body.user).toMatchObject({ username: 'alice', displayName: 'Alice Kim', isAdmin: false });
    aliceId = who.body.user.id;
    // the session is an ordinary one: it shows in the user's sessions and works as a bearer token
    const sessions = await apiClient(server.url, decodeURIComponent(a.sessionCookie!))('GET', '/api/me/sessions');
    expect(sessions.body.sessions).toHaveLength(1);
  });

  it('lands a second login on the same account, with a new session', async () => {
    const again = await signIn(server, 'alice');
    expect(again.location).toBe('/');
    const who = await me(server, again.sessionCookie);
    expect(who.body.user.id).toBe(aliceId);
    const sessions = await apiClient(server.url, decodeURIComponent(again.sessionCookie!))('GET', '/api/me/sessions');
    expect(sessions.body.sessions).toHaveLength(2);
  });

  it('links by (issuer, subject), never by email: the same address on another subject is another account', async () => {
    provider.accounts.set('alice-impostor', { preferred_username: 'alice', name: 'Not Alice', email: 'alice@corp.example' });
    const other = await signIn(server, 'alice-impostor');
    const who = await me(server, other.sessionCookie);
    expect(who.body.user.id).not.toBe(aliceId);
    // and the username collision got a suffix
    expect(who.body.user.username).toBe('alice2');
  });

  it('provisions usernames from the claim, the email local part, or "user", normalised and unique', async () => {
    await makeUser(server, 'bob');
    provider.accounts.set('bob-sub', { preferred_username: 'Bob', name: 'Bob Lee' });
    provider.accounts.set('minji-sub', { name: '김민지', email: 'kim.min-ji@corp.example' });
    provider.accounts.set('hong-sub', { preferred_username: '홍길동', name: '홍길동' });
    provider.accounts.set('long-sub', { preferred_username: 'a.very.long.name.from.the.directory' });
    const names: Record<string, unknown> = {};
    for (const login of ['bob-sub', 'minji-sub', 'hong-sub', 'long-sub']) {
      const a = await signIn(server, login);
      names[login] = (await me(server, a.sessionCookie)).body.user;
    }
    expect(names['bob-sub']).toMatchObject({ username: 'bob2', displayName: 'Bob Lee' }); // 'bob' is a password user's
    expect(names['minji-sub']).toMatchObject({ username: 'kim_min_ji', displayName: '김민지' });
    expect(names['hong-sub']).toMatchObject({ username: 'user', displayName: '홍길동' });
    expect(names['long-sub']).toMatchObject({ username: 'a_very_long_name_fro', displayName: 'a_very_long_name_fro' });
  });

  it('refuses a replayed callback, even with the flow cookie it was issued with (state is single use)', async () => {
    let kept = '';
    const a = await signIn(server, 'alice', { beforeCallback: (f) => void (kept = f.cookie(new URL(server.url).host, 'oidc_flow')!) });
    expect(a.location).toBe('/');
    // the attacker has the whole callback URL and the cookie as they were
    const replay = new FlowClient();
    replay.setCookie(new URL(server.url).host, 'oidc_flow', kept);
    const res = await replay.fetch(a.callback);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?error=oidc-state-invalid');
    expect(replay.cookie(new URL(server.url).host, 'session')).toBeUndefined();
  });

  it('refuses a callback without the flow cookie (login CSRF), while the browser that began it succeeds', async () => {
    let callback: URL | null = null;
    let cookie = '';
    await signIn(server, 'alice', {
      beforeCallback: (f) => {
        cookie = f.cookie(new URL(server.url).host, 'oidc_flow')!;
        f.setCookie(new URL(server.url).host, 'oidc_flow', null);
      },
      callback: (u) => void (callback = new URL(u)),
    }).then((a) => expect(a.location).toBe('/login?error=oidc-state-invalid'));
    // control: the flow was not spent by a cookieless callback, its own browser completes it
    const owner = new FlowClient();
    owner.setCookie(new URL(server.url).host, 'oidc_flow', cookie);
    const res = await owner.fetch(callback!);
    expect(res.headers.get('location')).toBe('/');
  });

  it('refuses a changed state, and spends the flow', async () => {
    let cookie = '';
    let callback: URL | null = null;
    const a = await signIn(server, 'alice', {
      callback: (u) => {
        callback = new URL(u);
        u.searchParams.set('state', u.searchParams.get('state')!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
      },
      beforeCallback: (f) => void (cookie = f.cookie(new URL(server.url).host, 'oidc_flow')!),
    });
    expect(a.location).toBe('/login?error=oidc-state-invalid');
    const retry = new FlowClient();
    retry.setCookie(new URL(server.url).host, 'oidc_flow', cookie);
    expect((await retry.fetch(callback!)).headers.get('location')).toBe('/login?error=oidc-state-invalid');
  });

  it('refuses a tampered authorization code', async () => {
    const a = await signIn(server, 'alice', { callback: (u) => u.searchParams.set('code', u.searchParams.get('code')!.slice(0, -2) + 'xx') });
    expect(a.location).toBe('/login?error=oidc-code-invalid');
    expect(a.sessionCookie).toBeUndefined();
  });

  it('refuses an ID token with another nonce (the authorization request was altered on its way)', async () => {
    const a = await signIn(server, 'alice', { authUrl: (u) => u.searchParams.set('nonce', 'attacker-chosen-nonce-0123456789abcdef') });
    expect(a.location).toBe('/login?error=oidc-token-invalid');
    expect(a.sessionCookie).toBeUndefined();
  });

  describe('refuses ID tokens the provider signed but that are not for us or not valid now', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, (c: Record<string, unknown>) => Record<string, unknown>][] = [
      ['another audience', (c) => ({ ...c, aud: 'some-other-client' })],
      ['expired', (c) => ({ ...c, iat: now() - 3 * 3600, exp: now() - 2 * 3600 })],
      ['another issuer', (c) => ({ ...c, iss: 'http://127.0.0.1:1/evil' })],
      ['not valid yet', (c) => ({ ...c, nbf: now() + 3600 })],
    ];
    for (const [name, tamper] of cases) {
      it(name, async () => {
        provider.tamperIdToken = tamper;
        try {
          const a = await signIn(server, 'alice');
          expect(a.location).toBe('/login?error=oidc-token-invalid');
          expect(a.sessionCookie).toBeUndefined();
        } finally {
          provider.tamperIdToken = null;
        }
        // control: the same flow with an honest token passes
        expect((await signIn(server, 'alice')).location).toBe('/');
      });
    }

    it('a token whose signature does not match', async () => {
      provider.breakSignature = true;
      try {
        expect((await signIn(server, 'alice')).location).toBe('/login?error=oidc-token-invalid');
      } finally {
        provider.breakSignature = false;
      }
      expect((await signIn(server, 'alice')).location).toBe('/');
    });
  });

  it('shows a refusal at the provider as oidc-denied', async () => {
    let flowCookie = '';
    const flow = new FlowClient();
    const start = await flow.fetch(`${server.url}/auth/oidc/login`);
    flowCookie = flow.cookie(new URL(server.url).host, 'oidc_flow')!;
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    expect(flowCookie).toBeTruthy();
    const res = await flow.fetch(`${server.url}/auth/oidc/callback?error=access_denied&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(provider.issuer)}`);
    expect(res.headers.get('location')).toBe('/login?error=oidc-denied');
  });

  it('refuses a disabled account, and lets it in again once enabled', async () => {
    provider.accounts.set('dora-sub', { preferred_username: 'dora', name: 'Dora' });
    const first = await signIn(server, 'dora-sub');
    const dora = (await me(server, first.sessionCookie)).body.user;
    expect((await admin.api('PATCH', `/api/admin/users/${dora.id}`, { disabled: true })).status).toBe(200);
    // the open session ended with the disabling
    expect((await me(server, first.sessionCookie)).status).toBe(401);
    const refused = await signIn(server, 'dora-sub');
    expect(refused.location).toBe('/login?error=oidc-account-disabled');
    expect(refused.sessionCookie).toBeUndefined();
    expect((await admin.api('PATCH', `/api/admin/users/${dora.id}`, { disabled: false })).status).toBe(200);
    const back = await signIn(server, 'dora-sub');
    expect((await me(server, back.sessionCookie)).body.user.id).toBe(dora.id);
  });

  it("audits a server admin's OIDC login like a password login", async () => {
    expect((await admin.api('PATCH', `/api/admin/users/${aliceId}`, { admin: true })).status).toBe(200);
    expect((await signIn(server, 'alice')).location).toBe('/');
    const audit = await admin.api('GET', `/api/admin/audit?action=auth.admin-login&actor=${aliceId}`);
    expect(audit.body.entries[0]).toMatchObject({ action: 'auth.admin-login', actorId: aliceId, details: { method: 'oidc' } });
    expect((await admin.api('PATCH', `/api/admin/users/${aliceId}`, { admin: false })).status).toBe(200);
  });

  it('answers GET only on the flow endpoints, and 404 under /auth/oidc otherwise', async () => {
    const post = await fetch(`${server.url}/auth/oidc/login`, { method: 'POST', redirect: 'manual' });
    expect(post.status).toBe(405);
    const other = await fetch(`${server.url}/auth/oidc/nope`, { redirect: 'manual' });
    expect(other.status).toBe(404);
    expect((await other.json()).error.code).toBe('not-found');
  });
});

describe('SSO only (OIDC_ONLY=true)', () => {
  let server: TestServer;
  let provider: TestProvider;
  let admin: Awaited<ReturnType<typeof makeUser>>;

  beforeAll(async () => {
    ({ server, provider } = await startPair({ oidcOnly: true }));
    // the very first account may still register: it is the break-glass server admin
    admin = await makeUser(server, 'breakglass');
  });
  afterAll(async () => {
    await server?.close();
    await provider?.close();
  });

  const login = (username: string, password: string) => apiClient(server.url)('POST', '/api/login', { username, password });

  it('tells the login page that password login is for the break-glass admin only', async () => {
    const res = await apiClient(server.url)('GET', '/api/auth/providers');
    expect(res.body).toMatchObject({ password: false, breakGlass: true, oidc: [{ name: 'Test IdP' }] });
  });

  it('turns password login off for everyone but enabled server admins', async () => {
    // control: the admin logs in with a password
    expect((await login('breakglass', 'password123')).status).toBe(200);
    const created = await admin.api('POST', '/api/admin/users', { username: 'staff1', password: 'password123' });
    expect(created.status).toBe(201);
    const refused = await login('staff1', 'password123');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('password-login-disabled');
    // a wrong password reads the same for everyone
    expect((await login('staff1', 'wrong-password1')).body.error.code).toBe('invalid-credentials');
    expect((await login('breakglass', 'wrong-password1')).body.error.code).toBe('invalid-credentials');
    // no self-registration either
    const reg = await apiClient(server.url)('POST', '/api/register', { username: 'newbie', password: 'password123' });
    expect(reg.status).toBe(403);
    expect(reg.body.error.code).toBe('password-login-disabled');
  });

  it('still signs staff in with the company account', async () => {
    const a = await signIn(server, 'alice');
    expect(a.location).toBe('/');
    expect((await me(server, a.sessionCookie)).body.user.username).toBe('alice');
  });
});

describe('without OIDC configured', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.close());

  it('lists no provider and answers the flow endpoints with 404', async () => {
    expect((await apiClient(server.url)('GET', '/api/auth/providers')).body).toEqual({ password: true, breakGlass: false, oidc: [] });
    const res = await fetch(`${server.url}/auth/oidc/login`, { redirect: 'manual' });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not-found');
  });
});

describe('a provider that cannot be reached, and the sign-in rate limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(
      { oidcIssuer: 'http://127.0.0.1:1', oidcClientId: 'messenger', oidcClientSecret: 's', oidcRedirectUri: 'http://127.0.0.1/auth/oidc/callback' },
      { rateLimits: { ...TEST_LIMITS, sso: { ...RATE_LIMITS.sso, points: 3 } } },
    );
  });
  afterAll(() => server?.close());

  it('sends the browser back with oidc-unavailable, then rate-limited past the allowance', async () => {
    const go = async () => (await fetch(`${server.url}/auth/oidc/login`, { redirect: 'manual' })).headers.get('location');
    for (let i = 0; i < 3; i++) expect(await go()).toBe('/login?error=oidc-unavailable');
    expect(await go()).toBe('/login?error=rate-limited');
  });
});
