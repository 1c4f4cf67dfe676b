/**
 * One document as the app keeps it: a `Y.Doc` loaded from its IndexedDB copy (y-indexeddb), then
 * attached to the tab's shared socket through a `LocalFirstProvider` (a `HocuspocusProvider` that
 * sends no update before the document's sync step 2 on each connection), and relayed to this user's
 * other tabs (`DocRelay`).
 *
 * Lifecycle (NOTES-STACK): the IndexedDB persistence is created BEFORE the provider and the provider
 * is attached only after `whenSynced`, so the first sync step carries the local state vector and the
 * server sends only what is missing. The doc is kept across reconnects (never recreated), which is
 * what makes a reconnect sync only the difference.
 *
 * What the server can say about it:
 * - `missing-dependency`, `resync`, `rate-limited` (transient): nothing is dropped; the document
 *   re-authenticates and runs the handshake again on the open socket (`provider.onOpen`), with a
 *   back-off that grows while it repeats (longer for `rate-limited`: a reason to wait).
 * - any other refusal (a close with a reason): the refused change sits in the local doc and its
 *   IndexedDB copy and would be re-sent forever, so both are dropped. First every change of the
 *   user that may not be on the server is captured (`captureUnsent`: posts, edits, deletes,
 *   reactions, votes) into a stash in localStorage; if that throws, nothing is dropped. Then provider
 *   and doc are destroyed, the database deletion is awaited, and a fresh copy opens. Once it has the
 *   server's state, the stash is replayed (`replay`): each change the server lacks is written again,
 *   one per update, paced by the host's rate budget, the next only after the server acknowledged the
 *   previous one. So a later refusal names its change: that one is left out (a post becomes a
 *   failed item, shown for retry) and the rest go on. When the first refusal leaves exactly one
 *   change unsent, that change was the refused one and is not re-sent.
 * - a denial at authentication (`not-found`, `not-a-member`): the document is not ours (any more);
 *   its local copy is deleted and listeners are told. Session-ending codes go to the host. A
 *   segment that answers `not-found` was dropped (retention) or was never readable: before its
 *   copy goes, the user's own messages the server never acknowledged are handed to the host
 *   (`segmentGone`), which posts them again in the open segment.
 * - deletions in a segment (a deleted message, an erasure by retention) leave the old text in the
 *   IndexedDB update log until y-indexeddb compacts after 500 updates: the copy is compacted soon
 *   after any transaction that deleted something, so that erased text leaves the device.
 * - another tab deletes the database (logout, or its own refusal): our connection gets
 *   `versionchange`; we close everything (which unblocks the deletion) and reopen shortly after.
 *
 * `generation` increases with every open/drop; async steps of an older generation stop quietly.
 */
import { WebSocketStatus, type HocuspocusProvider, type HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import { DocRelay } from '$lib/local/doc-relay.ts';
import { readJson, removeKey, writeJson } from '$lib/local/storage.ts';
import { deleteDatabase } from '$lib/local/wipe.ts';
import { compactCopy } from '$lib/local/idb-copies.ts';
import { rescuable } from '$lib/local/forget.ts';
import { parseDocName, SEGMENT_MESSAGES, SEGMENT_RECEIPTS, type Message } from '$lib/protocol/schema';
import { LocalFirstProvider } from './local-first-provider.ts';
import { applyChange, candidateKey, captureUnsent, mergeCandidates, planChange, type Candidate, type Change } from './unsent.ts';

export interface DocListener {
  /** The content changed: an update (local, server, other tab), the local copy loaded, or a reset. */
  change?(): void;
  /**
   * The handshake after each (re)connect is complete: the server's state has been merged and, on a
   * writable document, the server confirmed our step 2 (what we had written is on the server).
   */
  synced?(): void;
  /** The server refused to open this document; its local copy is gone. */
  denied?(code: string): void;
  /** A stateless message (presence, typing) arrived on this document. */
  stateless?(payload: string): void;
}

export interface SyncedDocHost {
  readonly socket: HocuspocusProviderWebsocket;
  /** Whose changes survive a refusal. */
  readonly userId: string;
  dbName(docName: string): string;
  channelName(docName: string): string;
  /** localStorage key of the changes kept from a refused copy of this document. */
  unsentKey(docName: string): string;
  /** Resolves when one more write may go to the server (the client's rate budget), taking it. */
  pace(): Promise<void>;
  /** A new message of the user was refused: keep it as a failed item (retry, discard). */
  failed(docName: string, message: Message, code: string): void;
  /** Some document's content changed (the host recounts unsent messages). */
  changed(): void;
  /** The server says the session is over. */
  sessionEnded(code: string): void;
  /**
   * A segment answered `not-found` (dropped by retention, or never readable): the user's own
   * messages that the server never acknowledged, taken out before its local copy is deleted, to be
   * posted again in the open segment (often none).
   */
  segmentGone(docName: string, unsent: Message[]): void;
  /** A refusal or denial to report to the user (through the error funnel). */
  report(code: string): void;
}

/** The server's answer to our own close message: not a refusal. */
const OWN_CLOSE = 'provider_initiated';
/** Refusals that ask for a re-sync with local state kept (PROTOCOL.md). */
const TRANSIENT = new Set(['missing-dependency', 'resync', 'rate-limited']);
/** Refusals that say nothing about the content: with one unsent change, it is still re-sent. */
const NOT_ABOUT_CONTENT = new Set(['client-id-taken', 'internal-error', 'update-too-large']);
/** Denials after which the local copy is deleted: the document is not readable by this user. */
const GONE = new Set(['not-found', 'not-a-member']);
const SESSION_ENDED = new Set(['unauthorized', 'session-revoked', 'account-disabled']);
/** Re-open after another tab deleted our database, once its deletion has run. */
const FOREIGN_DELETE_REOPEN_MS = 300;
const MAX_RESYNC_DELAY_MS = 5000;
/** `rate-limited`: wait 1 s, 2 s, 4 s … up to 30 s before the handshake carries the writes again. */
const RATE_LIMITED_DELAY_MS = 1000;
const MAX_RATE_LIMITED_DELAY_MS = 30_000;
/** A burst of deletions (a sync bringing an erasure) compacts once, shortly after. */
const COMPACT_DELAY_MS = 1500;

/** What a refusal left to write again (localStorage, so that a reload does not lose it). */
interface Stash {
  code: string;
  /** A change was already found to be the refused one: re-send all the others. */
  isolated: boolean;
  items: Candidate[];
}
/** Origin of relayed updates applied before a provider exists. */
const RELAYED = Symbol('relayed');

/** Handlers may close the provider; run them after the provider has finished its own event. */
const later = (fn: () => void) => queueMicrotask(fn);

export class SyncedDoc {
  readonly name: string;
  doc: Y.Doc;
  /** The server's state was merged (and our step 2 confirmed) since the current copy was opened. */
  synced = false;
  /** The server refused this document (code), or null. */
  denied: string | null = null;
  refs = 0;
  /** The current copy has been loaded from IndexedDB (what it holds is the device's state). */
  loaded = false;

  private host: SyncedDocHost;
  private persistence: IndexeddbPersistence | null = null;
  private provider: HocuspocusProvider | null = null;
  private relay: DocRelay | null = null;
  private local: Promise<void>;
  private listeners = new Set<DocListener>();
  private generation = 0;
  private closed = false;
  private resyncs = 0;
  private stash: Stash | null;
  /** The re-applied change waiting for the server's acknowledgement. */
  private inFlight: Change | null = null;
  private ackWaiter: ((acked: boolean) => void) | null = null;
  private replayGen = -1;
  private readonly isSegment: boolean;
  private compactTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(name: string, host: SyncedDocHost) {
    this.name = name;
    this.host = host;
    const stash = readJson<Stash>(host.unsentKey(name));
    this.stash = stash && Array.isArray(stash.items) ? stash : null;
    this.isSegment = parseDocName(name)?.kind === 'segment';
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
    const compactPending = this.compactTimer !== null;
    this.closed = true;
    this.generation++;
    this.resolveAck(false);
    this.listeners.clear();
    if (compactPending) await this.compact(); // erased text must not stay behind a quick close
    await this.teardown(this.doc, false);
  }

  /**
   * Rewrites the IndexedDB copy as the current state (one update): deleted content is then gone
   * from the device. Resolves false when there is no copy to compact.
   */
  async compact(): Promise<boolean> {
    if (this.compactTimer) clearTimeout(this.compactTimer);
    this.compactTimer = null;
    const p = this.persistence;
    if (!p?.db || !this.loaded) return false;
    return compactCopy(p.db, this.doc, p);
  }

  private scheduleCompact(): void {
    if (this.compactTimer || this.closed) return;
    this.compactTimer = setTimeout(() => {
      this.compactTimer = null;
      void this.compact();
    }, COMPACT_DELAY_MS);
  }

  // ---- opening --------------------------------------------------------------------------------

  private open(doc: Y.Doc): Promise<void> {
    const gen = ++this.generation;
    this.synced = false;
    this.denied = null;
    this.loaded = false;
    doc.on('update', () => {
      if (gen === this.generation) this.emit('change');
    });
    const persistence = new IndexeddbPersistence(this.host.dbName(this.name), doc);
    this.persistence = persistence;
    if (this.isSegment) {
      doc.on('afterTransaction', (tr: Y.Transaction) => {
        if (gen === this.generation && this.loaded && tr.origin !== persistence && tr.deleteSet.clients.size > 0) this.scheduleCompact();
      });
    }
    return loaded(persistence).then((ok) => {
      if (gen !== this.generation || this.closed) return;
      this.loaded = true;
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
    // no update before this document's step 2 on the connection, honest counter (LocalFirstProvider)
    const provider = new LocalFirstProvider({
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
      this.emit('synced');
      if (this.stash) void this.replay(gen);
    });
    provider.on('unsyncedChanges', ({ number }: { number: number }) => {
      if (!current() || number !== 0) return;
      this.resyncs = 0; // everything we wrote is on the server: a later refusal starts a new back-off
      this.resolveAck(true);
    });
    this.provider = provider;
    provider.attach();
  }

  // ---- what the server says -------------------------------------------------------------------

  private onRefused(code: string): void {
    if (TRANSIENT.has(code)) return this.resync(code);
    if (SESSION_ENDED.has(code)) return this.host.sessionEnded(code);
    if (GONE.has(code)) return void this.forget(code);
    this.host.report(code);
    void this.drop(code);
  }

  /** Run the handshake again on the open socket; the sync step 2 then carries what was missing. */
  private resync(code: string): void {
    const provider = this.provider;
    if (!provider) return;
    const delay =
      code === 'rate-limited'
        ? Math.min(MAX_RATE_LIMITED_DELAY_MS, RATE_LIMITED_DELAY_MS * 2 ** this.resyncs)
        : this.resyncs === 0
          ? 0
          : Math.min(MAX_RESYNC_DELAY_MS, 100 * 2 ** this.resyncs);
    this.resyncs++;
    const gen = this.generation;
    setTimeout(() => {
      if (gen === this.generation && this.provider === provider && this.host.socket.status === WebSocketStatus.Connected) void provider.onOpen(new Event('open'));
    }, delay);
  }

  /**
   * Refused change: keep every unsent change of the user (the stash), then drop the local copy
   * (memory and IndexedDB) and open a fresh one; `replay` writes the stash again once it synced.
   */
  private async drop(code: string): Promise<void> {
    const old = this.doc;
    let captured: Candidate[];
    try {
      captured = captureUnsent(old, this.host.userId);
    } catch (e) {
      // without the capture a drop would lose work: keep the copy (its connection stays closed)
      console.error(e);
      this.host.report('internal-error');
      return;
    }
    const gen = ++this.generation;
    const culprit = this.inFlight;
    this.inFlight = null;
    this.resolveAck(false);
    if (culprit) this.refusedChange(culprit, code);
    const items = mergeCandidates(this.stash?.items ?? [], captured, new Set(culprit ? [candidateKey(culprit)] : []));
    this.saveStash(items.length ? { code, isolated: culprit !== null || this.stash?.isolated === true, items } : null);
    const fresh = new Y.Doc();
    this.doc = fresh;
    this.synced = false;
    this.loaded = false;
    await this.teardown(old, true);
    await deleteDatabase(this.host.dbName(this.name));
    if (this.closed || gen !== this.generation) return;
    this.local = this.open(fresh);
    this.emit('change');
  }

  /**
   * Writes the stash again on the current copy (which has the server's state), one change per
   * update, each after the budget allows it and only once the previous one was acknowledged.
   */
  private async replay(gen: number): Promise<void> {
    if (this.replayGen === gen || !this.stash) return;
    this.replayGen = gen;
    const me = this.host.userId;
    const stash = this.stash;
    const planned = stash.items.map((c) => planChange(c, this.doc, me)).filter((c): c is Change => c !== null);
    if (!stash.isolated && planned.length === 1 && !NOT_ABOUT_CONTENT.has(stash.code)) {
      // the refused update carried this change alone: it is the refused one
      this.refusedChange(planned[0], stash.code);
      return this.saveStash(null);
    }
    for (const c of [...stash.items]) {
      if (planChange(c, this.doc, me)) await this.host.pace();
      if (gen !== this.generation) return;
      // planned again: the server (another member, another tab) may have changed it meanwhile
      const change = planChange(c, this.doc, me);
      if (change) {
        this.inFlight = change;
        applyChange(this.doc, change);
        if (!(await this.untilAcked(gen))) return; // refused or closed: `drop` keeps what is left
        this.inFlight = null;
      }
      const rest = (this.stash?.items ?? []).filter((x) => candidateKey(x) !== candidateKey(c));
      this.saveStash(rest.length ? { ...stash, items: rest } : null);
    }
    this.saveStash(null);
  }

  /** The server refused this change alone: not sent again; a new message is kept as failed. */
  private refusedChange(change: Change, code: string): void {
    if (change.post) this.host.failed(this.name, change.value as Message, code);
  }

  private untilAcked(gen: number): Promise<boolean> {
    const provider = this.provider;
    if (!provider || gen !== this.generation) return Promise.resolve(false);
    if (provider.unsyncedChanges === 0) return Promise.resolve(true);
    this.resolveAck(false);
    return new Promise((resolve) => (this.ackWaiter = resolve));
  }

  private resolveAck(acked: boolean): void {
    const waiter = this.ackWaiter;
    this.ackWaiter = null;
    waiter?.(acked);
  }

  private saveStash(stash: Stash | null): void {
    this.stash = stash;
    if (stash) writeJson(this.host.unsentKey(this.name), stash);
    else removeKey(this.host.unsentKey(this.name));
  }

  /** Own new messages kept from a refused copy and not yet written again (for the logout count). */
  unsentPosts(): Message[] {
    const me = this.host.userId;
    return (this.stash?.items ?? [])
      .filter((c) => c.unacked && (c.value as Message | null)?.author === me && !(c.value as Message).deleted)
      .map((c) => c.value as Message);
  }

  private onDenied(code: string): void {
    if (SESSION_ENDED.has(code)) return this.host.sessionEnded(code);
    void this.forget(code);
  }

  /** Not ours (any more): stop, delete the local copy, tell the listeners. */
  private async forget(code: string): Promise<void> {
    this.generation++;
    this.resolveAck(false);
    if (code === 'not-found' && this.isSegment) this.rescue();
    if (GONE.has(code)) this.saveStash(null);
    this.denied = code;
    const old = this.doc;
    this.doc = new Y.Doc();
    this.synced = false;
    this.loaded = false;
    const teardown = this.teardown(old, true);
    this.emit('denied', code);
    this.emit('change');
    await teardown;
    if (GONE.has(code)) await deleteDatabase(this.host.dbName(this.name));
    else this.host.report(code);
  }

  /**
   * A dropped segment: the user's messages the server never acknowledged (in the copy, or kept
   * from a refused copy) go to the host before the copy is deleted. Never throws: a copy that
   * cannot be read has nothing to give.
   */
  private rescue(): void {
    try {
      const doc = this.doc;
      const messages = doc.getMap<Message>(SEGMENT_MESSAGES);
      const own = rescuable(messages.values(), doc.getMap(SEGMENT_RECEIPTS), this.host.userId);
      const byId = new Map([...own, ...this.unsentPosts()].map((m) => [m.id, m]));
      this.host.segmentGone(this.name, [...byId.values()]);
    } catch (e) {
      console.error(e);
      this.host.segmentGone(this.name, []);
    }
  }

  /** Another tab deletes this database: let it (close our connection), then open again. */
  private onForeignDelete(gen: number): void {
    if (gen !== this.generation || this.closed) return;
    const next = ++this.generation;
    this.resolveAck(false);
    const old = this.doc;
    const fresh = new Y.Doc();
    this.doc = fresh;
    this.synced = false;
    this.loaded = false;
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
    if (this.compactTimer) clearTimeout(this.compactTimer);
    this.compactTimer = null;
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
    if (kind === 'change') this.host.changed();
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
