/**
 * Single sign-on over HTTP. `GET /api/auth/providers` (JSON, for the login page) and the two
 * browser legs of the authorization code flow, which are page navigations, not API calls:
 *
 *   GET /auth/oidc/login     → 302 to the provider, with the flow cookie (httpOnly, 10 min)
 *   GET /auth/oidc/callback  → 302 to `/` with the session cookie, or to `/login?error=<code>`
 *
 * A failure is never answered with raw JSON to a browser: the login page reads `?error=` and
 * shows the code's text. The flow cookie is cleared on every callback.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Route } from './router.ts';
import { sendError, sendJson } from './router.ts';
import { readCookie } from './request-info.ts';
import { sessionCookie } from './api.ts';
import { DomainError } from '../domain/errors.ts';
import { requestScope } from '../domain/audit.ts';
import type { Services } from '../services.ts';

const FLOW_COOKIE = 'oidc_flow';

export function authProviderRoutes(s: Services): Route[] {
  return [
    {
      method: 'GET', path: '/api/auth/providers', auth: false,
      handler: () => ({
        body: {
          password: !s.config.oidcOnly,
          // SSO only: server admins keep password login (break-glass); the page offers it discreetly
          breakGlass: s.config.oidcOnly,
          oidc: s.oidc ? [{ id: 'oidc', name: s.oidc.settings.name, loginUrl: '/auth/oidc/login' }] : [],
        },
      }),
    },
  ];
}

function flowCookie(req: IncomingMessage, value: string, maxAgeSec: number): string {
  const secure = (req.socket as TLSSocket).encrypted ? '; Secure' : '';
  // Lax: the callback is a top-level GET navigation from the provider's site
  return `${FLOW_COOKIE}=${value}; HttpOnly; SameSite=Lax; Path=/auth/oidc; Max-Age=${maxAgeSec}${secure}`;
}

function redirect(res: ServerResponse, location: string, cookies: string[]): void {
  res.writeHead(302, { location, 'set-cookie': cookies, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
  res.end();
}

const toLogin = (code: string) => `/login?error=${encodeURIComponent(code)}`;

/** Handles `/auth/oidc/*` (other paths under it: 404). */
export function oidcHandler(s: Services) {
  const cookieAge = s.config.sessionDays * 24 * 3600;
  // each sign-in begun holds a pending flow and costs the provider a round trip: bounded per IP
  const limiter = new RateLimiterMemory({ points: s.rateLimits.sso.points, duration: s.rateLimits.sso.durationSec });
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ip = req.socket.remoteAddress ?? 'unknown';
    if (url.pathname !== '/auth/oidc/login' && url.pathname !== '/auth/oidc/callback') return sendError(res, new DomainError('not-found'));
    if (req.method !== 'GET') return sendJson(res, 405, { error: { code: 'method-not-allowed', message: 'Method not allowed.' } }, { allow: 'GET' });
    const oidc = s.oidc;
    if (!oidc) return sendError(res, new DomainError('not-found', 'Single sign-on is not configured.'));
    const clearFlow = flowCookie(req, '', 0);
    if (!(await limiter.consume(ip).then(() => true, () => false))) return redirect(res, toLogin('rate-limited'), []);
    try {
      if (url.pathname === '/auth/oidc/login') {
        const { flowId, url: to } = await oidc.start();
        return redirect(res, to.href, [flowCookie(req, flowId, 600)]);
      }
      const login = await oidc.finish(readCookie(req, FLOW_COOKIE), url.searchParams);
      const signedIn = requestScope.run({ ip }, () => s.sso.signIn(login, String(req.headers['user-agent'] ?? '')));
      return redirect(res, '/', [clearFlow, sessionCookie({ req }, signedIn.token, cookieAge)]);
    } catch (e) {
      if (e instanceof DomainError) {
        s.log.info({ code: e.code, path: url.pathname }, 'oidc sign-in failed');
        return redirect(res, toLogin(e.code), [clearFlow]);
      }
      s.log.error({ err: e, path: url.pathname }, 'unexpected error');
      return redirect(res, toLogin('internal-error'), [clearFlow]);
    }
  };
}
