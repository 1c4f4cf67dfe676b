/**
 * Rate-limit policy. The README's table is generated from this object (`npm run docs:limits`) and
 * `GET /api/config` publishes it, so the documented numbers are the enforced ones.
 */
export interface RateLimit {
  points: number;
  durationSec: number;
  key: 'ip' | 'user';
  description: string;
}

export const RATE_LIMITS = {
  auth: { points: 10, durationSec: 60, key: 'ip', description: '`POST /api/login`, `POST /api/register`, password checks' },
  messages: { points: 30, durationSec: 10, key: 'user', description: 'messages posted, edited or deleted over `/collab` (all rooms together)' },
  backlog: { points: 300, durationSec: 300, key: 'user', description: 'message writes in a sync step 2 or within 3 s of a document (re)connecting: what was written offline' },
  search: { points: 30, durationSec: 60, key: 'user', description: '`GET /api/search`, `POST /api/search/advanced`' },
  upload: { points: 10, durationSec: 60, key: 'user', description: '`POST /api/upload`' },
  api: { points: 300, durationSec: 60, key: 'user', description: 'other state-changing `/api` requests' },
  upgrade: { points: 600, durationSec: 60, key: 'ip', description: '`/collab` WebSocket upgrades' },
  sso: { points: 30, durationSec: 60, key: 'ip', description: '`GET /auth/oidc/login` and `/auth/oidc/callback` (a refused one lands on `/login?error=rate-limited`)' },
} satisfies Record<string, RateLimit>;

export type RateLimits = { [K in keyof typeof RATE_LIMITS]: RateLimit };

export function rateLimitTable(limits: RateLimits = RATE_LIMITS): string {
  const rows = Object.entries(limits).map(([name, l]) => `| ${name} | ${l.description} | ${l.points} per ${l.durationSec} s | per ${l.key} |`);
  return ['| limit | applies to | allowance | counted |', '|---|---|---|---|', ...rows].join('\n');
}
