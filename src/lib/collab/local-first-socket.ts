/**
 * The tab's socket, with one change to `HocuspocusProviderWebsocket`: document updates written
 * while it is not connected are not queued. The reconnect's handshake (every provider runs sync
 * step 1 again) makes the client answer with a sync step 2 that carries everything the server
 * lacks, in ONE update, whose new messages the server orders by `createdAt`. Queued updates would
 * instead go out first, one by one and before the handshake; after an offline reload only the new
 * page's writes are queued (the older ones live in IndexedDB only), so they would get seqs before
 * the messages written earlier: 16–20 before 1–15.
 */
import { HocuspocusProviderWebsocket, MessageType, WebSocketStatus } from '@hocuspocus/provider';

/** y-protocols sync message kinds after `MessageType.Sync`: 0 step 1, 1 step 2, 2 update. */
const SYNC_UPDATE = 2;

export class LocalFirstSocket extends HocuspocusProviderWebsocket {
  // the library's signature: whatever its providers hand over (encoded Hocuspocus messages)
  override send(message: unknown): void {
    if (this.status !== WebSocketStatus.Connected && isDocumentUpdate(message)) return;
    super.send(message);
  }
}

/** `<varString documentName><varUint MessageType.Sync><varUint 2><update>` */
export function isDocumentUpdate(message: unknown): boolean {
  if (!(message instanceof Uint8Array)) return false;
  let pos = 0;
  const varUint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      if (pos >= message.length) return -1;
      const b = message[pos++];
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
      if (shift > 49) return -1;
    }
  };
  const nameLength = varUint();
  if (nameLength < 0) return false;
  pos += nameLength;
  return varUint() === MessageType.Sync && varUint() === SYNC_UPDATE;
}
