/**
 * The tab's socket, with one change to `HocuspocusProviderWebsocket`: sync frames (step 1, step 2,
 * updates) that cannot go out now are not queued. The reconnect's handshake (every provider runs
 * sync step 1 again) makes the client answer with a sync step 2 that carries everything the server
 * lacks, in ONE update, whose new messages the server orders by `createdAt`. Queued updates would
 * instead go out first, one by one and before the handshake; after an offline reload only the new
 * page's writes are queued (the older ones live in IndexedDB only), so they would get seqs before
 * the messages written earlier: 16–20 before 1–15. A queued step 1 or step 2 of the old connection
 * would be answered on the new one, and its `SyncStatus` taken for the answer to the new step 2.
 *
 * "Now" means the socket is connected and its WebSocket open: while a closing WebSocket's close
 * event is on its way the status still reads connected, and the library would queue the frame for
 * the next connection.
 *
 * The other half of the rule is per document (`LocalFirstProvider`): on an open socket, no update
 * leaves before that document's step 2 of the current handshake.
 */
import { HocuspocusProviderWebsocket, WebSocketStatus } from '@hocuspocus/provider';
import { syncKind } from './local-first-provider.ts';

/** `WebSocket.OPEN` (the same in the DOM and in `ws`). */
const OPEN = 1;

export class LocalFirstSocket extends HocuspocusProviderWebsocket {
  // the library's signature: whatever its providers hand over (encoded Hocuspocus messages)
  override send(message: unknown): void {
    const open = this.status === WebSocketStatus.Connected && this.webSocket?.readyState === OPEN;
    if (!open && message instanceof Uint8Array && syncKind(message) >= 0) return;
    super.send(message);
  }
}
