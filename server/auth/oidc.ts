/**
 * OpenID Connect relying party (openid-client 6): the authorization code flow with state, nonce and
 * PKCE (S256), and the ID-token checks openid-client does (issuer, audience, expiry, nonce, and
 * with non-repudiation checks on, the signature against the provider's keys). What comes out is a verified (issuer, subject) and its claims; what an account is made
 * of them is `SsoAccounts`' business.
 *
 * Lifecycle of a sign-in ("flow"): `start()` makes a random flow id, state, nonce and PKCE verifier
 * and keeps them here, in memory, for 10 minutes; the flow id rides in an httpOnly cookie (which
 * binds the callback to the browser that started it: a login-CSRF link carries no such cookie).
 * `finish()` takes the flow out before anything else, so each flow is good for one callback only,
 * whatever its outcome. A restart forgets pending flows: those users press the button again.
 *
 * Discovery runs on the first sign-in (the server starts while the provider is down) and is kept;
 * a failed discovery is retried by the next sign-in.
 */
import crypto from 'node:crypto';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.ts';
import type { Clock } from '../domain/deps.ts';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** null: a public client (PKCE only, `token_endpoint_auth_method: none`). */
  clientSecret: string | null;
  redirectUri: string;
  /** Shown on the login button. */
  name: string;
}

/** A verified sign-in: who the provider says this is, and what else it says. */
export interface OidcLogin {
  issuer: string;
  subject: string;
  claims: Record<string, unknown>;
}

const FLOW_TTL_MS = 10 * 60 * 1000;
/** Pending flows kept at most; the oldest are dropped first (each is ~200 bytes). */
const MAX_FLOWS = 10_000;
const SCOPE = 'openid profile email';

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  expiresAt: number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
export const isLoopbackUrl = (u: URL) => LOOPBACK.has(u.hostname);

/** openid-client's error codes (oauth4webapi) that mean "the ID token or the response is not to be trusted". */
const TOKEN_CHECKS = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'OAUTH_INVALID_RESPONSE', 'OAUTH_KEY_SELECTION_FAILED',
  'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED', 'OAUTH_UNSUPPORTED_OPERATION', 'OAUTH_PARSE_ERROR', 'OAUTH_RESPONSE_IS_NOT_CONFORM',
]);

export class OidcClient {
  private config: client.Configuration | null = null;
  private discovering: Promise<client.Configuration> | null = null;
  private flows = new Map<string, Flow>();

  constructor(
    readonly settings: OidcSettings,
    private clock: Clock,
    private log: Logger,
  ) {}

  private async configuration(): Promise<client.Configuration> {
    if (this.config) return this.config;
    this.discovering ??= (async () => {
      const issuer = new URL(this.settings.issuer);
      // http is allowed for a provider on this machine only (config.ts refuses any other)
      const execute = issuer.protocol === 'http:' && isLoopbackUrl(issuer) ? [client.allowInsecureRequests] : [];
      // ID-token signatures are checked against the provider's JWKS too, not only trusted because
      // the token came over TLS (which OIDC allows and openid-client does by default)
      execute.push(client.enableNonRepudiationChecks);
      const { clientId, clientSecret } = this.settings;
      const auth = clientSecret ? client.ClientSecretBasic(clientSecret) : client.None();
      const config = await client.discovery(issuer, clientId, clientSecret ?? undefined, auth, { execute, timeout: 10 });
      this.config = config;
      return config;
    })().finally(() => {
      this.discovering = null;
    });
    return this.discovering;
  }

  /** A new flow: its id (for the cookie) and the provider's authorization URL to send the browser to. */
  async start(): Promise<{ flowId: string; url: URL }> {
    let config: client.Configuration;
    try {
      config = await this.configuration();
    } catch (err) {
      this.log.warn({ err, issuer: this.settings.issuer }, 'oidc discovery failed');
      throw new DomainError('oidc-unavailable');
    }
    const now = this.clock.now();
    this.sweep(now);
    const flow: Flow = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier(), expiresAt: now + FLOW_TTL_MS };
    const flowId = crypto.randomBytes(24).toString('base64url');
    this.flows.set(flowId, flow);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: SCOPE,
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
    });
    return { flowId, url };
  }

  /**
   * The callback: `query` is the callback's query string. Throws a DomainError with an `oidc-*`
   * code for anything wrong, and spends the flow in every case.
   */
  async finish(flowId: string | null, query: URLSearchParams): Promise<OidcLogin> {
    const flow = flowId ? this.flows.get(flowId) : undefined;
    if (flowId) this.flows.delete(flowId);
    const state = query.get('state') ?? '';
    if (!flow || flow.expiresAt <= this.clock.now() || !sameString(state, flow.state)) throw new DomainError('oidc-state-invalid');
    if (query.has('error')) {
      this.log.info({ error: query.get('error') }, 'oidc sign-in refused by the provider');
      throw new DomainError('oidc-denied');
    }
    if (!query.get('code')) throw new DomainError('oidc-code-invalid');
    const config = await this.configuration().catch((err: unknown) => {
      this.log.warn({ err }, 'oidc discovery failed');
      throw new DomainError('oidc-unavailable');
    });
    // the URL the provider redirected to, rebuilt from the configured redirect URI: openid-client
    // sends it as redirect_uri, and behind a proxy our own view of the host may differ
    const current = new URL(this.settings.redirectUri);
    current.search = query.toString();
    let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
      });
    } catch (err) {
      throw this.mapError(err);
    }
    const idToken = tokens.claims();
    if (!idToken) throw new DomainError('oidc-token-invalid');
    const claims: Record<string, unknown> = { ...idToken };
    // profile claims may come from userinfo only (providers that keep ID tokens small)
    if (tokens.access_token && config.serverMetadata().userinfo_endpoint && !('preferred_username' in claims && 'name' in claims && 'email' in claims)) {
      try {
        const info = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
        for (const [k, v] of Object.entries(info)) if (!(k in claims)) claims[k] = v;
      } catch (err) {
        // the ID token is enough to sign in; profile fields fall back
        this.log.warn({ err }, 'oidc userinfo failed');
      }
    }
    return { issuer: idToken.iss, subject: idToken.sub, claims };
  }

  /** Pending flows (tests and metrics). */
  get pending(): number {
    return this.flows.size;
  }

  private sweep(now: number): void {
    for (const [id, f] of this.flows) {
      if (f.expiresAt > now && this.flows.size < MAX_FLOWS) break; // insertion order = age order
      this.flows.delete(id);
    }
  }

  private mapError(err: unknown): DomainError {
    if (err instanceof client.ResponseBodyError) {
      // the token endpoint refused: a code that is wrong, used, expired or not ours
      this.log.info({ error: err.error, description: err.error_description }, 'oidc token request refused');
      return new DomainError(err.error === 'invalid_grant' ? 'oidc-code-invalid' : 'oidc-unavailable');
    }
    if (err instanceof client.AuthorizationResponseError) return new DomainError('oidc-denied');
    const code = (err as { code?: string }).code;
    if (code && TOKEN_CHECKS.has(code)) {
      this.log.warn({ code, reason: (err as Error).message }, 'oidc id token refused');
      return new DomainError('oidc-token-invalid');
    }
    this.log.warn({ err }, 'oidc token request failed');
    return new DomainError('oidc-unavailable');
  }
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
