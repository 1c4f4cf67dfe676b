/**
 * The tab's one WebSocket to `/collab`, multiplexing every document the user keeps (NOTES-STACK:
 * one `HocuspocusProviderWebsocket` per tab, `provider.attach()` per document). The session cookie
 * authenticates the socket, so providers send an empty token.
 *
 * Documents are shared: the room list keeps every room's head and open segment, a room view adds
 * older segments, and each asks with `acquire(name)`; the document (Y.Doc + IndexedDB copy +
 * provider, see `SyncedDoc`) opens on the first acquire and closes on the last release. IndexedDB
 * databases are named per user (`msgr:<userId>:<doc>`), so users of one browser never share them.
 *
 * Connection: reconnects back off exponentially with jitter. The browser's `offline` event stops
 * the socket at once (an emulated or real network loss does not always close an open WebSocket,
 * and writes must then stay local rather than queue on a dead socket); `online` reconnects at once.
 * Docs are never recreated on reconnect: the provider's sync step 1 carries the state vector, so
 * only what was missed travels, and what was written offline goes in the answering sync step 2.
 *
 * Lifecycle: created at sign-in (also offline, from the cached user), destroyed at sign-out.
 */
import { HocuspocusProviderWebsocket, WebSocketStatus } from '@hocuspocus/provider';
import type * as Y from 'yjs';
import { docChannelName, docDbName, unsentKey } from '$lib/local/keys.ts';
import { ownUnacked } from '$lib/messages/segments.ts';
import { parseDocName, type Message } from '$lib/protocol/schema';
import { LocalFirstSocket } from './local-first-socket.ts';
import { SyncedDoc, type DocListener, type SyncedDocHost } from './synced-doc.ts';

export type SocketStatus = 'connecting' | 'connected' | 'disconnected';
/** What the connection banner shows. */
export type ConnectionState = 'online' | 'connecting' | 'offline';

export type { DocListener } from './synced-doc.ts';

/** A consumer's hold on a shared document. Always read `doc` anew: a refusal replaces it. */
export interface DocRef {
  readonly name: string;
  readonly doc: Y.Doc;
  /** The server's state has been merged into the current copy. */
  readonly synced: boolean;
  /** The server refused to open it (code), or null. */
  readonly denied: string | null;
  whenLocal(): Promise<void>;
  /** A stateless message (typing, away) on this document; dropped while offline. */
  sendStateless(payload: string): void;
  /** Rewrites the IndexedDB copy as the current state (deleted content leaves the device). */
  compact(): Promise<boolean>;
  release(): void;
}

export interface CollabClientOptions {
  url: string;
  userId: string;
  /** The server ended the session (socket closed 4401, or a document said `unauthorized`). */
  onSessionEnded(code: string): void;
  /** A new message of the user was refused: keep it as a failed item. */
  onFailed(docName: string, message: Message, code: string): void;
  /** Resolves when one more write may go to the server (the client's rate budget), taking it. */
  pace(): Promise<void>;
  /** A refusal to show the user. */
  onRefusal(code: string): void;
  /** The socket (re)connected: a moment to refresh what the server publishes (its config). */
  onConnected?(): void;
  /** A segment answered `not-found` (dropped): the user's unacknowledged messages in it, to post again. */
  onSegmentGone?(docName: string, unsent: Message[]): void;
}

const IDLE_DISCONNECT_MS = 60_000;
/** Back-off of reconnect attempts: 1 s, 2 s, 4 s … up to 30 s, each a random value above 1 s. */
const RECONNECT = { delay: 1000, initialDelay: 0, factor: 2, minDelay: 1000, maxDelay: 30_000, jitter: true } as const;

export class CollabClient {
  status = $state<SocketStatus>('disconnected');
  /** The browser's idea of the network (`navigator.onLine`). */
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);
  connection = $derived<ConnectionState>(!this.online ? 'offline' : this.status === 'connected' ? 'online' : 'connecting');

  readonly userId: string;
  private socket: HocuspocusProviderWebsocket;
  private docs = new Map<string, SyncedDoc>();
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;
  private opts: CollabClientOptions;
  private host: SyncedDocHost;
  private changeListeners = new Set<() => void>();

  constructor(opts: CollabClientOptions) {
    this.opts = opts;
    this.userId = opts.userId;
    // offline writes wait for the reconnect's sync step 2 instead of a queue (see LocalFirstSocket)
    this.socket = new LocalFirstSocket({ url: opts.url, autoConnect: false, ...RECONNECT });
    this.socket.on('status', ({ status }: { status: SocketStatus }) => {
      if (status === 'connected' && this.status !== 'connected') opts.onConnected?.();
      this.status = status;
    });
    this.socket.on('close', ({ event }: { event?: { code?: number; reason?: string } }) => {
      // 4401: the server ended the session behind this socket
      if (event?.code === 4401) opts.onSessionEnded(event.reason || 'session-revoked');
    });
    const userId = opts.userId;
    this.host = {
      socket: this.socket,
      userId,
      dbName: (name) => docDbName(userId, name),
      channelName: (name) => docChannelName(userId, name),
      unsentKey: (name) => unsentKey(userId, name),
      pace: () => opts.pace(),
      failed: (name, message, code) => opts.onFailed(name, message, code),
      changed: () => {
        for (const l of [...this.changeListeners]) l();
      },
      sessionEnded: (code) => opts.onSessionEnded(code),
      segmentGone: (name, unsent) => opts.onSegmentGone?.(name, unsent),
      report: (code) => opts.onRefusal(code),
    };
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
  }

  static urlFor(location: Location): string {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/collab`;
  }

  /** After logout or a revoked session: nothing opens any more. */
  get closed(): boolean {
    return this.destroyed;
  }

  /** Names of the IndexedDB databases of the documents open now. */
  get openDatabaseNames(): string[] {
    return [...this.docs.keys()].map((n) => docDbName(this.userId, n));
  }

  /** The document is open in this tab (some view or tracker holds it). */
  isOpen(name: string): boolean {
    return this.docs.has(name);
  }

  /** The loaded local copy of a document open in this tab, or null (not open, loading, or refused). */
  liveDoc(name: string): Y.Doc | null {
    const d = this.docs.get(name);
    return d && d.loaded && !d.denied ? d.doc : null;
  }

  /** Called on every content change of any open document (e.g. to recount unsent messages). */
  onChange(fn: () => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /**
   * The user's own messages in the open documents that the server has not acknowledged (no
   * receipt yet), plus those kept from a refused copy and not yet written again.
   */
  unsentMessages(): Message[] {
    const byId = new Map<string, Message>();
    for (const [name, d] of this.docs) {
      if (parseDocName(name)?.kind !== 'segment') continue;
      for (const m of [...ownUnacked(d.doc, this.userId), ...d.unsentPosts()]) byId.set(m.id, m);
    }
    return [...byId.values()];
  }

  acquire(name: string, listener: DocListener = {}): DocRef {
    if (this.destroyed) throw new Error('collab client destroyed');
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.ensureConnected();
    let entry = this.docs.get(name);
    if (!entry) {
      entry = new SyncedDoc(name, this.host);
      this.docs.set(name, entry);
    }
    const e = entry;
    e.refs++;
    const unlisten = e.listen(listener);
    let released = false;
    // already refused before this consumer came: it hears so too (never synchronously)
    if (e.denied) {
      const code = e.denied;
      queueMicrotask(() => !released && listener.denied?.(code));
    }
    return {
      name,
      get doc() {
        return e.doc;
      },
      get synced() {
        return e.synced;
      },
      get denied() {
        return e.denied;
      },
      whenLocal: () => e.whenLocal(),
      sendStateless: (payload) => e.sendStateless(payload),
      compact: () => e.compact(),
      release: () => {
        if (released) return;
        released = true;
        unlisten();
        if (--e.refs > 0) return;
        if (this.docs.get(name) === e) this.docs.delete(name);
        void e.close();
        if (this.docs.size === 0 && !this.destroyed) this.idleTimer = setTimeout(() => this.socket.disconnect(), IDLE_DISCONNECT_MS);
      },
    };
  }

  /** Closes every document (their IndexedDB connections too, awaited) and the socket. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const docs = [...this.docs.values()];
    this.docs.clear();
    await Promise.all(docs.map((d) => d.close()));
    this.socket.destroy();
  }

  private ensureConnected(): void {
    if (!this.online) return;
    if (!this.socket.shouldConnect || this.socket.status === WebSocketStatus.Disconnected) void this.socket.connect();
  }

  private onOnline = () => {
    this.online = true;
    if (this.docs.size && !this.destroyed) void this.socket.connect(); // at once, not at the next back-off step
  };

  private onOffline = () => {
    this.online = false;
    this.socket.disconnect();
    // Without a network the close handshake may never complete, and until the socket reports the
    // close, writes would queue on it instead of being carried by the next sync. Close it now.
    // The socket's own 'close' event is what every provider listens to (`emit` is protected; this
    // is the event the socket would emit itself once the browser reported the close).
    const socket = this.socket as unknown as { emit(event: 'close', payload: { event: { code: number; reason: string } }): void };
    if (this.socket.status !== WebSocketStatus.Disconnected) socket.emit('close', { event: { code: 1000, reason: 'offline' } });
  };
}
