/**
 * Who is online, away or offline: the `presence` document, opened once per tab (read-only, no
 * content, no awareness), carries the server's `presence-all` snapshot on connect and a `presence`
 * message on every change (docs/PROTOCOL.md, "Presence and typing"). Online is the server's word
 * (an authenticated socket); away is ours: a tab hidden for longer than AWAY_AFTER_MS says so.
 *
 * Lifecycle: `start` at sign-in, `stop` at sign-out.
 */
import type { CollabClient, DocRef } from '$lib/collab/collab-client.svelte.ts';
import { PRESENCE_DOC, type PresenceStatus, type StatelessFromServer } from '$lib/protocol/schema';

const AWAY_AFTER_MS = 60_000;

export class PresenceState {
  statuses = $state.raw<Record<string, PresenceStatus>>({});

  private ref: DocRef | null = null;
  private awayTimer: ReturnType<typeof setTimeout> | null = null;
  private away = false;

  start(collab: CollabClient): void {
    this.stop();
    this.ref = collab.acquire(PRESENCE_DOC, {
      stateless: (payload) => this.onMessage(payload),
      // a new connection: the server sends the snapshot again; say where we stand
      synced: () => this.away && this.send(true),
    });
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  stop(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    if (this.awayTimer) clearTimeout(this.awayTimer);
    this.awayTimer = null;
    this.away = false;
    this.ref?.release();
    this.ref = null;
    this.statuses = {};
  }

  of(userId: string): PresenceStatus {
    return this.statuses[userId] ?? 'offline';
  }

  private onMessage(payload: string): void {
    let msg: StatelessFromServer;
    try {
      msg = JSON.parse(payload) as StatelessFromServer;
    } catch {
      return;
    }
    if (msg.t === 'presence-all' && msg.users && typeof msg.users === 'object') this.statuses = { ...msg.users };
    else if (msg.t === 'presence' && typeof msg.u === 'string') this.statuses = { ...this.statuses, [msg.u]: msg.s };
  }

  private onVisibility = () => {
    if (this.awayTimer) clearTimeout(this.awayTimer);
    this.awayTimer = null;
    if (document.visibilityState === 'hidden') {
      this.awayTimer = setTimeout(() => this.setAway(true), AWAY_AFTER_MS);
    } else this.setAway(false);
  };

  private setAway(away: boolean): void {
    if (away === this.away) return;
    this.away = away;
    this.send(away);
  }

  private send(away: boolean): void {
    this.ref?.sendStateless(JSON.stringify({ t: 'away', away }));
  }
}
