/**
 * Presence (online / away / offline per user) and typing, over Hocuspocus stateless messages.
 * Online means "has at least one authenticated socket": the server knows it, so nobody can fake
 * another user's presence; away is the client's own word about itself.
 */
import type { Hocuspocus, Document } from '@hocuspocus/server';
import { PRESENCE_DOC, type PresenceStatus, type StatelessFromServer } from '../../src/lib/protocol/schema.ts';

import type { Clock } from '../domain/deps.ts';

export const TYPING_MIN_INTERVAL_MS = 1500;
/** A user's status is broadcast at most this often; the final state of a burst of changes follows. */
export const PRESENCE_MIN_INTERVAL_MS = 1000;

export class Presence {
  private sockets = new Map<string, number>();
  private away = new Set<string>();
  /** Throttles are per user, whatever number of sockets and documents the user has open. */
  private lastTyping = new Map<string, number>();
  private lastBroadcast = new Map<string, { at: number; sent: PresenceStatus; timer: NodeJS.Timeout | null }>();

  constructor(
    private documents: () => Hocuspocus['documents'],
    private clock: Clock,
    /** `rateLimits.typing`: one relayed typing signal per user per this interval. */
    private typingIntervalMs = TYPING_MIN_INTERVAL_MS,
  ) {}

  status(userId: string): PresenceStatus {
    if (!this.sockets.get(userId)) return 'offline';
    return this.away.has(userId) ? 'away' : 'online';
  }

  snapshot(): Record<string, PresenceStatus> {
    return Object.fromEntries([...this.sockets.keys()].map((u) => [u, this.status(u)]));
  }

  socketOpened(userId: string): void {
    const n = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, n);
    if (n === 1) this.broadcast(userId);
  }

  socketClosed(userId: string): void {
    const n = (this.sockets.get(userId) ?? 1) - 1;
    if (n > 0) return void this.sockets.set(userId, n);
    this.sockets.delete(userId);
    this.away.delete(userId);
    this.broadcast(userId);
  }

  setAway(userId: string, away: boolean): void {
    if (away === this.away.has(userId)) return;
    if (away) this.away.add(userId);
    else this.away.delete(userId);
    this.broadcast(userId);
  }

  /** Relays a typing signal with the sender's real id, at most every 1.5 s per user. */
  typing(document: Document, userId: string): void {
    const now = this.clock.now();
    if (now - (this.lastTyping.get(userId) ?? -Infinity) < this.typingIntervalMs) return;
    this.lastTyping.set(userId, now);
    if (this.lastTyping.size > 10_000) this.prune(now);
    document.broadcastStateless(JSON.stringify({ t: 'typing', u: userId } satisfies StatelessFromServer));
  }

  private prune(now: number) {
    for (const [u, at] of this.lastTyping) if (now - at >= this.typingIntervalMs) this.lastTyping.delete(u);
  }

  /** At most one broadcast per user per interval; a change inside it is sent when it ends (if still a change). */
  private broadcast(userId: string): void {
    const now = this.clock.now();
    const last = this.lastBroadcast.get(userId);
    if (last?.timer) return; // the trailing broadcast will carry the newest state
    if (last && now - last.at < PRESENCE_MIN_INTERVAL_MS) {
      last.timer = setTimeout(() => {
        last.timer = null;
        if (this.status(userId) !== last.sent) this.send(userId);
      }, PRESENCE_MIN_INTERVAL_MS - (now - last.at));
      last.timer.unref();
      return;
    }
    this.send(userId);
  }

  private send(userId: string): void {
    const status = this.status(userId);
    const prev = this.lastBroadcast.get(userId);
    if (status === 'offline' && !prev?.timer) this.lastBroadcast.delete(userId);
    else this.lastBroadcast.set(userId, { at: this.clock.now(), sent: status, timer: prev?.timer ?? null });
    const doc = this.documents().get(PRESENCE_DOC);
    doc?.broadcastStateless(JSON.stringify({ t: 'presence', u: userId, s: status } satisfies StatelessFromServer));
  }
}
