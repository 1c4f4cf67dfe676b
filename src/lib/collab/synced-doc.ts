/**
 * One document as the app keeps it: a `Y.Doc` loaded from its IndexedDB copy (y-indexeddb), then
 * attached to the tab's shared socket through a `HocuspocusProvider`, and relayed to this user's
 * other tabs (`DocRelay`).
 *
 * Lifecycle (NOTES-STACK): the IndexedDB persistence is created BEFORE the provider and the provider
 * is attached only after `whenSynced`, so the first sync step carries the local state vector and the
 * server sends only what is missing. The doc is kept across reconnects (never recreated), which is
 * what makes a reconnect sync only the difference.
 *
 * What the server can say about it:
 * - `missing-dependency` (transient): nothing is dropped; the document re-authenticates and runs the
 *   handshake again on the open socket (`provider.onOpen`), after a short back-off if it repeats.
 * - any other refusal (a close with a reason): the refused change sits in the local doc and its
 *   IndexedDB copy and would be re-sent forever, so both are dropped: the host first takes the
 *   user's own unacknowledged messages out of the old doc (`beforeDrop`, kept as failed items),
 *   then provider and doc are destroyed, the database deletion is awaited, and a fresh copy opens.
 * - a denial at authentication (`not-found`, `not-a-member`): the document is not ours (any more);
 *   its local copy is deleted and listeners are told. Session-ending codes go to the host.
 * - another tab deletes the database (logout, or its own refusal): our connection gets
 *   `versionchange`; we close everything (which unblocks the deletion) and reopen shortly after.
 *
 * `generation` increases with every open/drop; async steps of an older generation stop quietly.
 */
import { HocuspocusProvider, WebSocketStatus, type HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import { DocRelay } from '$lib/local/doc-relay.ts';
import { deleteDatabase } from '$lib/local/wipe.ts';

export interface DocListener {
  /** The content changed: an update (local, server, other tab), the local copy loaded, or a reset. */
  change?(): void;
  /** The server's state has been merged (first sync after each (re)connect). */
  synced?(): void;
  /** The server refused to open this document; its local copy is gone. */
  denied?(code: string): void;
  /** A stateless message (presence, typing) arrived on this document. */
  stateless?(payload: string): void;
}

export interface SyncedDocHost {
  readonly socket: HocuspocusProviderWebsocket;
  dbName(docName: string): string;
  channelName(docName: string): string;
  /** A refused document's local copy is about to be dropped: take what must survive out of `doc`. */
  beforeDrop(docName: string, doc: Y.Doc, code: string): void;
  /** The server says the session is over. */
  sessionEnded(code: string): void;
  /** A refusal or denial to report to the user (through the error funnel). */
  report(code: string): void;
}

/** The server's answer to our own close message: not a refusal. */
const OWN_CLOSE = 'provider_initiated';
/** Refusals that ask for a re-sync with local state kept (PROTOCOL.md). */
const TRANSIENT = new Set(['missing-dependency', 'resync']);
/** Denials after which the local copy is deleted: the document is not readable by this user. */
const GONE = new Set(['not-found', 'not-a-member']);
const SESSION_ENDED = new Set(['unauthorized', 'session-revoked', 'account-disabled']);
/** Re-open after another tab deleted our database, once its deletion has run. */
const FOREIGN_DELETE_REOPEN_MS = 300;
const MAX_RESYNC_DELAY_MS = 5000;
/** Origin of relayed updates applied before a provider exists. */
const RELAYED = Symbol('relayed');

/** Handlers may close the provider; run them after the provider has finished its own event. */
const later = (fn: () => void) => queueMicrotask(fn);

export class SyncedDoc {
  readonly name: string;
  doc: Y.Doc;
  /** The server's state was merged since the current copy was opened. */
  synced = false;
  /** The server refused this document (code), or null. */
  denied: string | null = null;
  refs = 0;

  private host: SyncedDocHost;
  private persistence: IndexeddbPersistence | null = null;
  private provider: HocuspocusProvider | null = null;
  private relay: DocRelay | null = null;
  private local: Promise<void>;
  private listeners = new Set<DocListener>();
  private generation = 0;
  private closed = false;
  private resyncs = 0;

  constructor(name: string, host: SyncedDocHost) {
    this.name = name;
    this.host = host;
    this.doc = new Y.Doc();
    this.local = this.open(this.doc);
  }

  /** Resolves when the current copy has been loaded from IndexedDB (it may still be empty). */
  whenLocal(): Promise<void> {
    return this.local;
  }

  /** A stateless message to the server (dropped while not connected: it is never worth queueing). */
  sendStateless(payload: string): void {
    if (this.provider && this.host.socket.status === WebSocketStatus.Connected) this.provider.sendStateless(payload);
  }

  listen(l: DocListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Everything stops; the IndexedDB copy stays (it is the offline copy). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    this.listeners.clear();
    await this.teardown(this.doc, false);
  }

  // ---- opening --------------------------------------------------------------------------------

  private open(doc: Y.Doc): Promise<void> {
    const gen = ++this.generation;
    this.synced = false;
    this.denied = null;
    doc.on('update', () => {
      if (gen === this.generation) this.emit('change');
    });
    const persistence = new IndexeddbPersistence(this.host.dbName(this.name), doc);
    this.persistence = persistence;
    return loaded(persistence).then((ok) => {
      if (gen !== this.generation || this.closed) return;
      if (ok && persistence.db) persistence.db.onversionchange = () => this.onForeignDelete(gen);
      this.attachProvider(doc, gen);
      this.relay = new DocRelay(
        this.host.channelName(this.name),
        doc,
        (origin) => origin === this.provider || origin === persistence || origin === RELAYED,
        () => this.provider ?? RELAYED,
      );
      this.emit('change');
    });
  }

  private attachProvider(doc: Y.Doc, gen: number): void {
    const socket = this.host.socket;
    const provider = new HocuspocusProvider({
      websocketProvider: socket,
      name: this.name,
      document: doc,
      token: '', // the session cookie authenticates the socket
      // presence will ride on one awareness per socket later; per-document awareness is a storm
      awareness: null,
    });
    const current = () => gen === this.generation && this.provider === provider;
    provider.on('close', ({ event }: { event: { code?: number; reason?: string } }) => {
      // A socket-level close reaches every provider too (the socket is already 'disconnected' when
      // it does); a document-level CLOSE message arrives on a connected socket as a plain object.
      if (socket.status !== WebSocketStatus.Connected || (typeof CloseEvent !== 'undefined' && event instanceof CloseEvent)) return;
      const reason = event.reason;
      if (reason && reason !== OWN_CLOSE) later(() => current() && this.onRefused(reason));
    });
    provider.on('authenticationFailed', ({ reason }: { reason: string }) => later(() => current() && this.onDenied(reason || 'forbidden')));
    provider.on('stateless', ({ payload }: { payload: string }) => {
      if (!current()) return;
      for (const l of [...this.listeners]) l.stateless?.(payload);
    });
    provider.on('synced', () => {
      if (!current()) return;
      this.synced = true;
      this.resyncs = 0;
      this.emit('synced');
    });
    this.provider = provider;
    provider.attach();
  }

  // ---- what the server says -------------------------------------------------------------------

  private onRefused(code: string): void {
    if (TRANSIENT.has(code)) return this.resync();
    if (SESSION_ENDED.has(code)) return this.host.sessionEnded(code);
    if (GONE.has(code)) return void this.forget(code);
    this.host.report(code);
    void this.drop(code);
  }

  /** Run the handshake again on the open socket; the sync step 2 then carries what was missing. */
  private resync(): void {
    const provider = this.provider;
    if (!provider) return;
    const delay = this.resyncs === 0 ? 0 : Math.min(MAX_RESYNC_DELAY_MS, 100 * 2 ** this.resyncs);
    this.resyncs++;
    const gen = this.generation;
    setTimeout(() => {
      if (gen === this.generation && this.provider === provider && this.host.socket.status === WebSocketStatus.Connected) void provider.onOpen(new Event('open'));
    }, delay);
  }

  /** Refused change: drop the local copy (memory and IndexedDB) and open a fresh one. */
  private async drop(code: string): Promise<void> {
    const gen = ++this.generation;
    const old = this.doc;
    try {
      this.host.beforeDrop(this.name, old, code);
    } catch (e) {
      console.error(e);
    }
    const fresh = new Y.Doc();
    this.doc = fresh;
    this.synced = false;
    await this.teardown(old, true);
    await deleteDatabase(this.host.dbName(this.name));
    if (this.closed || gen !== this.generation) return;
    this.local = this.open(fresh);
    this.emit('change');
  }

  private onDenied(code: string): void {
    if (SESSION_ENDED.has(code)) return this.host.sessionEnded(code);
    void this.forget(code);
  }

  /** Not ours (any more): stop, delete the local copy, tell the listeners. */
  private async forget(code: string): Promise<void> {
    this.generation++;
    this.denied = code;
    const old = this.doc;
    this.doc = new Y.Doc();
    this.synced = false;
    const teardown = this.teardown(old, true);
    this.emit('denied', code);
    this.emit('change');
    await teardown;
    if (GONE.has(code)) await deleteDatabase(this.host.dbName(this.name));
    else this.host.report(code);
  }

  /** Another tab deletes this database: let it (close our connection), then open again. */
  private onForeignDelete(gen: number): void {
    if (gen !== this.generation || this.closed) return;
    const next = ++this.generation;
    const old = this.doc;
    const fresh = new Y.Doc();
    this.doc = fresh;
    this.synced = false;
    void this.teardown(old, false);
    this.emit('change');
    // our open request queues behind the other tab's deletion (IndexedDB runs them in order)
    this.local = new Promise<void>((resolve) =>
      setTimeout(() => {
        if (this.closed || next !== this.generation) return resolve();
        this.open(fresh).then(resolve, resolve);
      }, FOREIGN_DELETE_REOPEN_MS),
    );
  }

  /**
   * Provider, relay and persistence go; `doc` is destroyed. `serverClosed`: the server already
   * forgot this document on the socket, so no close message is sent (it would be queued as the
   * first message of the next open of the same name and close that one).
   */
  private async teardown(doc: Y.Doc, serverClosed: boolean): Promise<void> {
    const provider = this.provider;
    this.provider = null;
    if (provider) {
      if (serverClosed) {
        const map = this.host.socket.configuration.providerMap;
        if (map.get(provider.effectiveName) === provider) map.delete(provider.effectiveName);
      }
      provider.destroy();
    }
    this.relay?.close();
    this.relay = null;
    const persistence = this.persistence;
    this.persistence = null;
    if (persistence?.db) persistence.db.onversionchange = null;
    try {
      await persistence?.destroy(); // closes the database connection (a pending deletion can run)
    } catch {
      // the database never opened
    }
    doc.destroy();
  }

  private emit(kind: 'change' | 'synced'): void;
  private emit(kind: 'denied', code: string): void;
  private emit(kind: 'change' | 'synced' | 'denied', code?: string): void {
    for (const l of [...this.listeners]) {
      try {
        if (kind === 'change') l.change?.();
        else if (kind === 'synced') l.synced?.();
        else l.denied?.(code!);
      } catch (e) {
        console.error(e);
      }
    }
  }
}

/**
 * Resolves true when the IndexedDB copy is loaded, false when IndexedDB cannot be used (disabled,
 * private mode): the document then works online only rather than not at all.
 */
function loaded(p: IndexeddbPersistence): Promise<boolean> {
  return Promise.race([p.whenSynced.then(() => true), p._db.then(() => new Promise<boolean>(() => {}), () => false)]);
}
