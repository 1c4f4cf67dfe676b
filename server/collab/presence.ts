/**
 * Presence (online / away / offline per user) and typing, over Hocuspocus stateless messages.
 * Online means "has at least one authenticated socket": the server knows it, so nobody can fake
 * another user's presence; away is the client's own word about itself.
 */
import type { Hocuspocus, Document } from '@hocuspocus/server';
import { PRESENCE_DOC, type PresenceStatus, type StatelessFromServer } from '../../src/lib/protocol/schema.ts';

export const TYPING_MIN_INTERVAL_MS = 1500;

export class Presence {
  private sockets = new Map<string, number>();
  private away = new Set<string>();
  private lastTyping = new WeakMap<object, number>();

  constructor(private hocuspocus: Hocuspocus) {}

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

  /** Relays a typing signal with the sender's real id, at most every 1.5 s per connection. */
  typing(connection: object, document: Document, userId: string, now = Date.now()): void {
    if (now - (this.lastTyping.get(connection) ?? 0) < TYPING_MIN_INTERVAL_MS) return;
    this.lastTyping.set(connection, now);
    document.broadcastStateless(JSON.stringify({ t: 'typing', u: userId } satisfies StatelessFromServer));
  }

  private broadcast(userId: string): void {
    const doc = this.hocuspocus.documents.get(PRESENCE_DOC);
    doc?.broadcastStateless(JSON.stringify({ t: 'presence', u: userId, s: this.status(userId) } satisfies StatelessFromServer));
  }
}
