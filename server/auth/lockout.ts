/**
 * Failed-login lockout with backoff, built so that it cannot be turned against the account owner.
 *
 * - Failures are counted per (username, IP). After `points` of them the pair is locked for
 *   `durationSec`; each further failure once a lock has run out locks it again for twice as long,
 *   up to `backoffMaxSec`. A success from that IP clears its record. An attacker guessing from one
 *   IP is slowed to a handful of guesses per 15 minutes; the owner, from any other IP, never notices.
 * - A guesser spread over many IPs gets `points` guesses from each. So failures from `GLOBAL_IPS` or
 *   more distinct IPs within `GLOBAL_WINDOW_MS` lock the username itself, with the same backoff, but
 *   only for IPs that have never logged into it (remembered for `KNOWN_IP_MS`): the owner's usual
 *   machines still get in while the username is under attack, a new device waits out the lock.
 * - Unknown usernames are counted exactly like real ones: a lock tells nothing about existence.
 * - A locked attempt checks no password and counts as nothing (it cannot extend the lock).
 *
 * In memory, per process, bounded (`MAX_ENTRIES` records of each kind, oldest dropped first); a
 * restart forgets every lock. Usernames are compared case-insensitively.
 */
import type { Clock } from '../domain/deps.ts';
import type { RateLimit } from '../http/rate-limits.ts';

export const GLOBAL_IPS = 5;
export const GLOBAL_WINDOW_MS = 15 * 60 * 1000;
const KNOWN_IP_MS = 30 * 24 * 3600 * 1000;
/** A record without a failure for this long is forgotten (the backoff starts over). */
const FORGET_MS = 60 * 60 * 1000;
const MAX_ENTRIES = 100_000;
const MAX_KNOWN_IPS_PER_USER = 50;

interface Strikes {
  failures: number;
  lockedUntil: number;
  /** Length of the last lock (ms); the next one doubles it. */
  lastLockMs: number;
  lastFailureAt: number;
}

interface UserStrikes extends Strikes {
  /** IP → time of its last failure, within the window. */
  ips: Map<string, number>;
}

export class LoginLockout {
  private pairs = new Map<string, Strikes>();
  private users = new Map<string, UserStrikes>();
  /** username → IP → last successful login. */
  private known = new Map<string, Map<string, number>>();

  constructor(private limit: RateLimit, private clock: Clock) {}

  /** Seconds until this (username, IP) may try again, or 0 when it may try now. */
  retryAfterSec(username: string, ip: string): number {
    const now = this.clock.now();
    const name = username.toLowerCase();
    let until = this.pairs.get(`${name}\n${ip}`)?.lockedUntil ?? 0;
    const user = this.users.get(name);
    if (user && user.lockedUntil > now && !this.isKnown(name, ip, now)) until = Math.max(until, user.lockedUntil);
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  failed(username: string, ip: string): void {
    const now = this.clock.now();
    const name = username.toLowerCase();
    this.strike(this.pairs, `${name}\n${ip}`, now, () => ({ failures: 0, lockedUntil: 0, lastLockMs: 0, lastFailureAt: 0 }), true);
    const user = this.strike(this.users, name, now, () => ({ failures: 0, lockedUntil: 0, lastLockMs: 0, lastFailureAt: 0, ips: new Map() }), false);
    user.ips.set(ip, now);
    for (const [other, at] of user.ips) if (now - at > GLOBAL_WINDOW_MS) user.ips.delete(other);
    if (user.ips.size >= GLOBAL_IPS && user.lockedUntil <= now) this.lock(user, now);
  }

  succeeded(username: string, ip: string): void {
    const now = this.clock.now();
    const name = username.toLowerCase();
    this.pairs.delete(`${name}\n${ip}`);
    let ips = this.known.get(name);
    if (!ips) {
      ips = new Map();
      this.known.set(name, ips);
      this.trim(this.known);
    }
    ips.delete(ip);
    ips.set(ip, now);
    if (ips.size > MAX_KNOWN_IPS_PER_USER) ips.delete(ips.keys().next().value!);
  }

  /** Counts one failure; `lockPairs`: lock after `points` failures (the per-username record locks by IP count instead). */
  private strike<T extends Strikes>(map: Map<string, T>, key: string, now: number, fresh: () => T, lockPairs: boolean): T {
    let s = map.get(key);
    if (s && now - s.lastFailureAt > FORGET_MS && s.lockedUntil <= now) s = undefined;
    if (!s) s = fresh();
    map.delete(key); // re-inserted last: the Map's order is the eviction order
    map.set(key, s);
    this.trim(map);
    s.failures++;
    s.lastFailureAt = now;
    if (lockPairs && s.failures >= this.limit.points && s.lockedUntil <= now) this.lock(s, now);
    return s;
  }

  private lock(s: Strikes, now: number): void {
    const first = this.limit.durationSec * 1000;
    const max = (this.limit.backoffMaxSec ?? this.limit.durationSec) * 1000;
    s.lastLockMs = s.lastLockMs ? Math.min(s.lastLockMs * 2, max) : first;
    s.lockedUntil = now + s.lastLockMs;
  }

  private isKnown(name: string, ip: string, now: number): boolean {
    const at = this.known.get(name)?.get(ip);
    return at !== undefined && now - at < KNOWN_IP_MS;
  }

  private trim(map: Map<string, unknown>): void {
    while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value!);
  }
}
