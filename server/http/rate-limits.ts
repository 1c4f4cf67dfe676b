/**
 * Rate-limit policy. The README's table is generated from this object (`npm run docs`) and
 * `GET /api/config` publishes it, so the documented numbers are the enforced ones.
 *
 * Most entries are a token bucket: `points` per `durationSec`, counted per `key`. Two are not:
 * - `unauthSockets` is a cap on sockets open at once (`concurrent`);
 * - `lockout` counts failed logins: after `points` failures the (username, IP) pair is locked for
 *   `durationSec`, doubling on each further failure up to `backoffMaxSec` (see server/auth/lockout.ts).
 */
export interface RateLimit {
  points: number;
  durationSec: number;
  key: 'ip' | 'user' | 'username+ip';
  description: string;
  /** A cap on what is open at once, not a rate (`durationSec` is unused). */
  concurrent?: boolean;
  /** Lockout: the longest lock after repeated failures. */
  backoffMaxSec?: number;
}

export const RATE_LIMITS = {
  auth: { points: 10, durationSec: 60, key: 'ip', description: '`POST /api/login` and password checks (`PUT /api/me/password`, `DELETE /api/me`)' },
  register: { points: 5, durationSec: 60, key: 'ip', description: '`POST /api/register`' },
  lockout: {
    points: 5, durationSec: 60, backoffMaxSec: 900, key: 'username+ip',
    description: 'failed logins: after 5 for one username from one IP that pair waits 1 min, doubling with each further failure up to 15 min (429 `login-locked`); a success resets it. Only failures from 5 or more IPs within 15 min lock the username itself, and then only for IPs that never logged into it',
  },
  messages: { points: 30, durationSec: 10, key: 'user', description: 'messages posted, edited or deleted over `/collab` (all rooms together)' },
  backlog: { points: 300, durationSec: 300, key: 'user', description: 'message writes in a sync step 2 or within 3 s of a document (re)connecting: what was written offline' },
  search: { points: 30, durationSec: 60, key: 'user', description: '`GET /api/search`, `POST /api/search/advanced`' },
  upload: { points: 10, durationSec: 60, key: 'user', description: '`POST /api/upload`' },
  pins: { points: 30, durationSec: 60, key: 'user', description: '`POST /api/rooms/:id/pins` and `DELETE /api/rooms/:id/pins/:pinId`' },
  api: { points: 300, durationSec: 60, key: 'user', description: 'other state-changing `/api` requests' },
  // stricter than the old product's 1/s per room: one person types in one room at a time, and a
  // signal fanned out to many rooms at once is what an abuser would send
  typing: { points: 1, durationSec: 1.5, key: 'user', description: 'typing signals relayed over `/collab`, all rooms together (more are dropped silently)' },
  // high enough for an honest reconnect storm (each reconnect opens every synced document again: 100 rooms, ten times a minute)
  documents: { points: 1200, durationSec: 60, key: 'user', description: '`/collab` documents opened, all sockets together; beyond it a document is refused `rate-limited`' },
  upgrade: { points: 600, durationSec: 60, key: 'ip', description: '`/collab` WebSocket connections opened' },
  unauthSockets: { points: 20, durationSec: 0, key: 'ip', concurrent: true, description: '`/collab` sockets open at once that have not authenticated yet (no session cookie; each must authenticate within 5 s)' },
  sso: { points: 30, durationSec: 60, key: 'ip', description: '`GET /auth/oidc/login` and `/auth/oidc/callback` (a refused one lands on `/login?error=rate-limited`)' },
} satisfies Record<string, RateLimit>;

export type RateLimits = { [K in keyof typeof RATE_LIMITS]: RateLimit };

function allowance(l: RateLimit): string {
  if (l.concurrent) return `${l.points} at once`;
  if (l.backoffMaxSec) return `${l.points} failures, then ${l.durationSec} s doubling to ${l.backoffMaxSec} s`;
  return `${l.points} per ${l.durationSec} s`;
}

export function rateLimitTable(limits: RateLimits = RATE_LIMITS): string {
  const rows = Object.entries(limits).map(([name, l]) => `| ${name} | ${l.description} | ${allowance(l)} | per ${l.key} |`);
  return ['| limit | applies to | allowance | counted |', '|---|---|---|---|', ...rows].join('\n');
}
