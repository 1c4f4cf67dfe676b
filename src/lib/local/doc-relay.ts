/**
 * Relays one document's updates between the tabs of this browser (one BroadcastChannel per
 * document), so that two tabs agree even with no server: both offline, each sees what the other
 * writes at once, and both keep it in the same IndexedDB database.
 *
 * Only the tab's own writes are sent (not what came from the server or from IndexedDB: the other
 * tab gets those itself). A tab that opens the document sends its state vector; the others answer
 * with what it lacks and ask for what they lack, so a tab that opens late catches up too.
 *
 * Received updates are applied with the *provider* as origin: the writing tab sends its change to
 * the server itself, so this tab's provider does not send it a second time (if the writer closes
 * first, the next sync step 2 of this tab carries it anyway, because it is in this tab's document).
 */
import * as Y from 'yjs';

type RelayMessage = { t: 'sv'; sv: Uint8Array; ask: boolean } | { t: 'up'; u: Uint8Array };

/** An update with no structs and no deletions encodes to two zero bytes. */
const isEmpty = (update: Uint8Array) => update.length <= 2;

export class DocRelay {
  private channel: BroadcastChannel | null = null;

  /**
   * @param isForeign origins that must not be relayed (server, IndexedDB, this relay)
   * @param applyOrigin the origin received updates are applied with
   */
  constructor(
    name: string,
    private doc: Y.Doc,
    private isForeign: (origin: unknown) => boolean,
    private applyOrigin: () => unknown,
  ) {
    if (typeof BroadcastChannel === 'undefined') return;
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (e: MessageEvent<RelayMessage>) => this.receive(e.data);
    doc.on('update', this.onUpdate);
    this.post({ t: 'sv', sv: Y.encodeStateVector(doc), ask: true });
  }

  private onUpdate = (update: Uint8Array, origin: unknown) => {
    if (!this.isForeign(origin)) this.post({ t: 'up', u: update });
  };

  private receive(msg: RelayMessage): void {
    if (!this.channel) return;
    if (msg.t === 'up') {
      Y.applyUpdate(this.doc, msg.u, this.applyOrigin());
    } else if (msg.t === 'sv') {
      const diff = Y.encodeStateAsUpdate(this.doc, msg.sv);
      if (!isEmpty(diff)) this.post({ t: 'up', u: diff });
      if (msg.ask) this.post({ t: 'sv', sv: Y.encodeStateVector(this.doc), ask: false });
    }
  }

  private post(msg: RelayMessage): void {
    try {
      this.channel?.postMessage(msg);
    } catch {
      // the channel closed under us (tab closing)
    }
  }

  close(): void {
    this.doc.off('update', this.onUpdate);
    this.channel?.close();
    this.channel = null;
  }
}
