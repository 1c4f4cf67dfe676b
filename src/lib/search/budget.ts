/**
 * The client side of the server's search rate limit (`GET /api/config` → `rateLimits.search`,
 * 30 per 60 s per user): a sliding log of this tab's requests, allowed at 90 % of the allowance so
 * that a second tab or a retry does not reach the server's limit, plus a pause after a `429`
 * (its `Retry-After`, else a back-off that doubles up to a minute). Pure: time is passed in.
 */
export interface SearchLimit {
  points: number;
  durationSec: number;
}

export const FALLBACK_SEARCH_LIMIT: SearchLimit = { points: 30, durationSec: 60 };
const MAX_BACKOFF_MS = 60_000;
const FIRST_BACKOFF_MS = 5_000;

export class SearchBudget {
  private log: number[] = [];
  private blockedUntil = 0;
  private backoffs = 0;

  constructor(private limit: () => SearchLimit) {}

  /** Milliseconds until one more request may go (0: now). */
  wait(now: number): number {
    const { points, durationSec } = this.limit();
    const windowMs = durationSec * 1000;
    const allowed = Math.max(1, Math.floor(points * 0.9));
    this.log = this.log.filter((t) => t > now - windowMs);
    const byLog = this.log.length < allowed ? 0 : this.log[this.log.length - allowed] + windowMs - now;
    return Math.max(0, byLog, this.blockedUntil - now);
  }

  take(now: number): void {
    this.log.push(now);
  }

  /** The server answered: a success ends the back-off. */
  ok(): void {
    this.backoffs = 0;
  }

  /** The server said `rate-limited`: no request before `retryAfterSec` (or a growing back-off). */
  limited(now: number, retryAfterSec?: number): number {
    const ms = retryAfterSec && retryAfterSec > 0 ? retryAfterSec * 1000 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.backoffs);
    this.backoffs++;
    this.blockedUntil = Math.max(this.blockedUntil, now + ms);
    return this.blockedUntil - now;
  }
}
