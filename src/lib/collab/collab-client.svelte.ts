/**
 * The tab's one WebSocket to `/collab`, multiplexing every open document (NOTES-STACK: one
 * `HocuspocusProviderWebsocket` per tab, `provider.attach()` per document). The session cookie
 * authenticates the socket, so providers send an empty token.
 *
 * Lifecycle: created after login, destroyed on logout. Documents are opened and closed by the room
 * view. An idle socket is kept alive by the server's PING (the provider answers PONG), since the
 * providers carry no awareness. With nothing open for a while the socket is disconnected; the next
 * `open` reconnects it.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import * as Y from 'yjs';

export type SocketStatus = 'connecting' | 'connected' | 'disconnected';

export interface DocHandlers {
  /** The server closed this document: its reason is an error code (a refused update, a kick…). */
  onRefused(code: string): void;
  /** The server refused to open this document (`not-found`, `unauthorized`…). */
  onDenied(code: string): void;
  /** The first sync finished (the local doc holds the server's state). */
  onSynced?(): void;
}

export interface OpenDoc {
  readonly name: string;
  readonly doc: Y.Doc;
  readonly provider: HocuspocusProvider;
  /** `serverClosed`: the server already dropped this document, so no close message is sent. */
  close(serverClosed?: boolean): void;
}

/** Handlers may close the provider; run them after the provider has finished its own event. */
const later = (fn: () => void) => queueMicrotask(fn);

const IDLE_DISCONNECT_MS = 60_000;
/** The server's answer to our own close message: not a refusal. */
const OWN_CLOSE = 'provider_initiated';

export class CollabClient {
  status = $state<SocketStatus>('connecting');
  private socket: HocuspocusProviderWebsocket;
  private open_ = new Set<OpenDoc>();
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;

  /** `onSocketRefused` gets the close reason when the server ends the whole socket (e.g. session-revoked). */
  constructor(url: string, onSocketRefused: (code: string) => void) {
    this.socket = new HocuspocusProviderWebsocket({ url, autoConnect: false });
    this.socket.on('status', ({ status }: { status: SocketStatus }) => (this.status = status));
    this.socket.on('close', ({ event }: { event?: { code?: number; reason?: string } }) => {
      // 4401: the server ended the session behind this socket
      if (event?.code === 4401) onSocketRefused(event.reason || 'session-revoked');
    });
  }

  static urlFor(location: Location): string {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/collab`;
  }

  /** After logout or a revoked session: nothing opens any more. */
  get closed(): boolean {
    return this.destroyed;
  }

  open(name: string, handlers: DocHandlers): OpenDoc {
    if (this.destroyed) throw new Error('collab client destroyed');
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.socket.shouldConnect || this.socket.status === 'disconnected') void this.socket.connect();

    const doc = new Y.Doc();
    const provider = new HocuspocusProvider({
      websocketProvider: this.socket,
      name,
      document: doc,
      token: '',
      // presence will ride on one awareness per socket later; per-document awareness is a storm
      awareness: null,
    });
    provider.on('close', ({ event }: { event: { code?: number; reason?: string } }) => {
      // socket-level closes arrive here too, as real CloseEvents; a document close is a plain object
      const perDocument = typeof CloseEvent === 'undefined' || !(event instanceof CloseEvent);
      const reason = event.reason;
      if (perDocument && reason && reason !== OWN_CLOSE) later(() => handlers.onRefused(reason));
    });
    provider.on('authenticationFailed', ({ reason }: { reason: string }) => later(() => handlers.onDenied(reason || 'forbidden')));
    provider.on('synced', () => handlers.onSynced?.());

    const socket = this.socket;
    const all = this.open_;
    const handle: OpenDoc = {
      name,
      doc,
      provider,
      close: (serverClosed = false) => {
        if (!all.delete(handle)) return;
        if (serverClosed) {
          // Hocuspocus already forgot this document on the socket; a close message now would be
          // queued as the first message of the next open of the same name and close that one.
          const map = socket.configuration.providerMap;
          if (map.get(provider.effectiveName) === provider) map.delete(provider.effectiveName);
        }
        provider.destroy();
        doc.destroy();
        if (all.size === 0 && !this.destroyed) this.idleTimer = setTimeout(() => this.socket.disconnect(), IDLE_DISCONNECT_MS);
      },
    };
    all.add(handle);
    provider.attach();
    return handle;
  }

  destroy(): void {
    if (this.destroyed) return;
    for (const d of [...this.open_]) d.close();
    this.destroyed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.socket.destroy();
  }
}
