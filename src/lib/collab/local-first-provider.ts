/**
 * The app's document provider: `HocuspocusProvider` with one rule added, per document and per
 * connection: **no document update leaves before this document's own sync step 2** (our answer to
 * the server's step 1) has been sent on the current connection. That step 2 carries whatever was
 * written before it. Together with `LocalFirstSocket` (nothing is queued while the socket is down),
 * the server receives a device's writes in its writing order: first the step 2 with everything the
 * server lacks (whatever client ids wrote it: an offline backlog across a reload comes from the
 * previous page's id, kept in IndexedDB only; the server orders one update's new messages by
 * `createdAt`), then the updates written after it.
 *
 * Why: the library sends an update as soon as the socket is connected. Between a (re)connect or
 * re-authentication (`onOpen`: Auth, then step 1) and the server's step 1 arriving, an update
 * written by the new page goes out as a sync *update* frame, the server applies it before our step
 * 2 and gives its messages smaller seqs than the previous page's older ones (issue 7, item 6).
 *
 * The delivery state stays honest (the library's counter: +1 per sent frame, -1 per `SyncStatus`,
 * reset to 1 for the step 2 at every `startSync`):
 * - a held update is not counted as a frame of its own (it never gets an answer): the pending step
 *   2 is its frame. While held, the counter is at least 1 (the step 2 to come), so it cannot read 0
 *   while a local change is not on the server.
 * - a `SyncStatus` that arrives before this connection's step 2 was sent answers a frame of an
 *   earlier handshake (after a document-level close, the server applies frames that were in flight
 *   once the re-authentication opens the document again). Its frame is not counted any more (the
 *   reset), so it is ignored: otherwise it would take the counter to 0 before the step 2 left.
 * - `synced` (the library: "the server's step 2 arrived") waits on a writable document also for the
 *   server's confirmation of our step 2: then both sides have each other's state. The first
 *   `SyncStatus` after our step 2 is its answer: nothing else is sent between the two, and the
 *   server answers in the order it receives. A read-only document (a room's head) has nothing of
 *   ours to confirm (the server may even answer "not applied"), so there `synced` stays the
 *   library's.
 */
import { HocuspocusProvider, MessageType } from '@hocuspocus/provider';

/** y-protocols sync message kinds after `MessageType.Sync`: 0 step 1, 1 step 2, 2 update. */
export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

export class LocalFirstProvider extends HocuspocusProvider {
  // `declare`d, not initialised: a field initialiser would run after the base constructor, which
  // may already have called the overrides below (and would overwrite what they set)
  /** Our step 2 has been sent on the current connection (this handshake). */
  private declare step2Sent: boolean | undefined;
  /** The server has confirmed our step 2 (its first `SyncStatus` after it). */
  private declare step2Confirmed: boolean | undefined;
  /** The server's step 2 arrived on this handshake. */
  private declare serverStateIn: boolean | undefined;

  /** Our step 2 has been sent on the current connection: updates may go out as they are written. */
  get handshakeSent(): boolean {
    return this.step2Sent === true;
  }

  override async onOpen(event: Event): Promise<void> {
    // a new handshake: on a new socket, or a re-authentication on the open one (resync)
    this.resetHandshake();
    return super.onOpen(event);
  }

  override onClose(): void {
    // the socket dropped, or the server closed this document on it
    this.resetHandshake();
    super.onClose();
  }

  override documentUpdateHandler(update: Uint8Array, origin: unknown): void {
    if (origin === this) return;
    if (this.step2Sent) return super.documentUpdateHandler(update, origin);
    // held: the next step 2 of this document carries it; until that step 2 is confirmed, the
    // counter must not read 0 (startSync sets it to 1; before that, e.g. offline, we do)
    if (this.unsyncedChanges === 0) this.incrementUnsyncedChanges();
  }

  override decrementUnsyncedChanges(): void {
    if (!this.step2Sent) return; // the answer to a frame of an earlier handshake (see above)
    const first = !this.step2Confirmed;
    this.step2Confirmed = true;
    super.decrementUnsyncedChanges();
    if (first) this.synced = true;
  }

  override get synced(): boolean {
    return super.synced;
  }

  override set synced(state: boolean) {
    if (state && !(this.serverStateIn && (this.step2Confirmed || this.authorizedScope === 'readonly'))) return;
    super.synced = state;
  }

  override onMessage(event: MessageEvent): void {
    const kind = incomingSyncKind(event.data);
    if (kind === SYNC_STEP2) this.serverStateIn = true;
    super.onMessage(event);
    // the library answered the server's step 1 with our step 2 in the same call (MessageReceiver)
    if (kind === SYNC_STEP1 && this.isAttached) this.step2Sent = true;
  }

  private resetHandshake(): void {
    this.step2Sent = false;
    this.step2Confirmed = false;
    this.serverStateIn = false;
  }
}

function incomingSyncKind(data: unknown): number {
  const bytes = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : null;
  return bytes ? syncKind(bytes) : -1;
}

/**
 * `<varString documentName><varUint MessageType.Sync><varUint kind>…`: the kind (0 step 1, 1 step 2,
 * 2 update), or -1 for any other message.
 */
export function syncKind(message: Uint8Array): number {
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
  if (nameLength < 0) return -1;
  pos += nameLength;
  if (varUint() !== MessageType.Sync) return -1;
  return varUint();
}
