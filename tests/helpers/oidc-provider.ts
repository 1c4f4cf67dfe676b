/**
 * A real OpenID provider for tests: `oidc-provider` on port 0 with its development login and
 * consent pages (any login, any password; the login is the account id and `sub`), test clients
 * and in-memory accounts. PKCE is required, as a serious provider does.
 *
 * `tamperIdToken` makes the provider hand out a bad ID token, re-signed with its own key so that
 * only the claim under test is wrong (audience, expiry, issuer); `breakSignature` sends one whose
 * signature does not match. The provider is third-party HTTP: the one place tests may bend.
 *
 * `FlowClient` drives the browser side with fetch and a cookie jar (no redirects followed on its
 * own), for the attacks that need to touch each leg (nonce, state, code).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestAccount {
  name?: string;
  preferred_username?: string;
  email?: string;
}

export interface TestClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

type Claims = Record<string, unknown>;

export interface TestProvider {
  issuer: string;
  provider: Provider;
  /** login (= sub) → profile claims; add accounts at any time. */
  accounts: Map<string, TestAccount>;
  /** Set to rewrite the claims of the next ID tokens (re-signed with the provider's key); null: honest. */
  tamperIdToken: ((claims: Claims) => Claims) | null;
  /** Send ID tokens whose payload was changed without re-signing. */
  breakSignature: boolean;
  close(): Promise<void>;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/**
 * Listens first (the issuer URL needs the port) and builds the provider when `start` is called
 * with the clients, whose redirect URIs may need the app's port in turn.
 */
export async function listenOidcProvider(): Promise<{ issuer: string; start(clients: TestClient[], accounts?: Record<string, TestAccount>): TestProvider }> {
  let handler: http.RequestListener = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    start(clients, accounts = {}) {
      const built = buildProvider(issuer, clients, accounts, async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
      handler = built.handler;
      return built.test;
    },
  };
}

function buildProvider(issuer: string, clients: TestClient[], accounts: Record<string, TestAccount>, close: () => Promise<void>): { test: TestProvider; handler: http.RequestListener } {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const accountMap = new Map(Object.entries(accounts));

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({ ...c, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' })),
    jwks: { keys: [jwk as never] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    async findAccount(_ctx, sub) {
      const account = accountMap.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
  });
  const test: TestProvider = {
    issuer,
    provider,
    accounts: accountMap,
    tamperIdToken: null,
    breakSignature: false,
    close,
  };
  // ID tokens leave through the token endpoint: rewrite them there when a test asks
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== '/token' || ctx.status !== 200 || !body?.id_token) return;
    const [header, payload, signature] = body.id_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Claims;
    if (test.tamperIdToken) {
      const input = `${header}.${b64(test.tamperIdToken(claims))}`;
      ctx.body = { ...body, id_token: `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}` };
    } else if (test.breakSignature) {
      ctx.body = { ...body, id_token: `${header}.${b64({ ...claims, name: 'Mallory' })}.${signature}` };
    }
  });
  return { test, handler: provider.callback() };
}

/** fetch with a cookie jar per host:port; redirects are returned, not followed. */
export class FlowClient {
  private jar = new Map<string, Map<string, string>>();

  async fetch(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const u = new URL(url);
    const cookies = this.jar.get(u.host);
    const headers: Record<string, string> = {};
    if (cookies?.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(u, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body: init.form ? new URLSearchParams(init.form).toString() : undefined, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const jar = this.jar.get(u.host) ?? new Map<string, string>();
      this.jar.set(u.host, jar);
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name);
  }

  setCookie(host: string, name: string, value: string | null): void {
    const jar = this.jar.get(host) ?? new Map<string, string>();
    this.jar.set(host, jar);
    if (value === null) jar.delete(name);
    else jar.set(name, value);
  }

  /**
   * From the provider's authorization URL through its login and consent pages, as `login`;
   * returns the URL the provider sends the browser back to (our callback), not yet visited.
   */
  async throughProvider(authorizationUrl: string | URL, login: string, stopAt: string): Promise<URL> {
    let next: { url: URL; form?: Record<string, string> } = { url: new URL(authorizationUrl) };
    for (let hops = 0; hops < 20; hops++) {
      const res = await this.fetch(next.url, next.form ? { form: next.form } : {});
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.get('location')!, next.url);
        if (location.href.startsWith(stopAt)) return location;
        next = { url: location };
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`provider answered ${res.status}: ${html.slice(0, 300)}`);
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
      if (!action || !prompt) throw new Error(`no interaction form on ${next.url}: ${html.slice(0, 300)}`);
      const url = new URL(action.replace(/&amp;/g, '&'), next.url);
      next = { url, form: prompt === 'login' ? { prompt, login, password: 'any-password' } : { prompt } };
    }
    throw new Error('too many redirects at the provider');
  }
}
