/**
 * The client's side of the server's per-user write limits (`GET /api/config` → `rateLimits`), so
 * that an honest user is never refused `rate-limited`: every write into a segment document (post,
 * edit, delete, reaction, re-applied change) takes one unit here first.
 *
 * - Connected: a sliding log of this device's writes under `rateLimits.messages`.
 * - Not connected: writes go into the documents (they travel in the reconnect's sync step 2, which
 *   the server counts against `rateLimits.backlog`), up to the backlog allowance; at the reconnect
 *   they enter the backlog log with that time.
 *
 * We use 90 % of each allowance over its window plus one second, so that network jitter cannot
 * bunch our writes into one of the server's windows. The log lives in localStorage: a reload keeps
 * it, and this user's tabs share it (read-modify-write per call, good enough between tabs).
 */
import { readJson, writeJson } from './storage.ts';

export interface Limit {
  points: number;
  durationSec: number;
}
export interface WriteLimits {
  messages: Limit;
  backlog: Limit;
}

/** Only when the server's config was never fetched on this device (it is cached once seen). */
export const FALLBACK_LIMITS: WriteLimits = { messages: { points: 10, durationSec: 10 }, backlog: { points: 100, durationSec: 300 } };

interface Log {
  /** Times of writes made while connected. */
  sent: number[];
  /** Times at which writes made offline went out (the reconnect). */
  backlog: number[];
  /** Writes made while not connected and not yet gone out. */
  offline: number;
}

const share = (l: Limit) => ({ points: Math.max(1, Math.floor(l.points * 0.9)), windowMs: l.durationSec * 1000 + 1000 });
/** Re-check at least this often while waiting (the connection or another tab may change things). */
const RECHECK_MS = 1000;

export class WriteBudget {
  private key: string | null;
  private limits: () => WriteLimits;
  private connected: () => boolean;
  private now: () => number;
  private memory: Log = { sent: [], backlog: [], offline: 0 };

  constructor(key: string | null, limits: () => WriteLimits, connected: () => boolean, now: () => number = Date.now) {
    this.key = key;
    this.limits = limits;
    this.connected = connected;
    this.now = now;
  }

  /** Milliseconds until one more write may go; 0 = now. */
  waitMs(): number {
    const log = this.load();
    const now = this.now();
    const { messages, backlog } = this.limits();
    if (this.connected()) {
      const m = share(messages);
      if (log.sent.length < m.points) return 0;
      return Math.max(1, log.sent[log.sent.length - m.points] + m.windowMs - now);
    }
    const b = share(backlog);
    if (log.backlog.length + log.offline < b.points) return 0;
    // beyond the backlog allowance: wait for old backlog to age out, or for the connection
    const free = log.backlog.length > 0 ? log.backlog[0] + b.windowMs - now : RECHECK_MS;
    return Math.max(1, Math.min(free, RECHECK_MS));
  }

  take(n = 1): void {
    const log = this.load();
    if (this.connected()) for (let i = 0; i < n; i++) log.sent.push(this.now());
    else log.offline += n;
    this.save(log);
  }

  /** Resolves once a write may go (the caller takes it). `stop()` true ends the wait early. */
  async whenAvailable(stop: () => boolean = () => false): Promise<void> {
    for (;;) {
      if (stop()) return;
      const wait = this.waitMs();
      if (wait <= 0) return;
      await new Promise((r) => setTimeout(r, Math.min(wait, RECHECK_MS)));
    }
  }

  private load(): Log {
    const stored = this.key ? readJson<Log>(this.key) : this.memory;
    const log: Log = stored && Array.isArray(stored.sent) && Array.isArray(stored.backlog) ? stored : { sent: [], backlog: [], offline: 0 };
    const now = this.now();
    const { messages, backlog } = this.limits();
    if (this.connected() && log.offline > 0) {
      // what was written offline has just gone out in the sync step 2s
      for (let i = 0; i < log.offline; i++) log.backlog.push(now);
      log.offline = 0;
      this.save(log);
    }
    log.sent = log.sent.filter((t) => t > now - share(messages).windowMs);
    log.backlog = log.backlog.filter((t) => t > now - share(backlog).windowMs);
    return log;
  }

  private save(log: Log): void {
    if (this.key) writeJson(this.key, log);
    else this.memory = log;
  }
}
