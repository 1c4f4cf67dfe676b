/**
 * The collaboration service: Hocuspocus v4 with our extensions, one concern per file
 * (extensions/authentication, validation, storage, presence), the write path they share
 * (write-path.ts: group commit, receipts, moves) and the output gate that keeps everything unsent
 * until it is durable. This file composes them and mirrors domain events into documents.
 */
import { Hocuspocus } from '@hocuspocus/server';
import type { Document } from '@hocuspocus/server';
import type * as Y from 'yjs';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { headName, segmentName, userDocName, SEGMENT_MESSAGES, type Message } from '../../src/lib/protocol/schema.ts';
import type { AccessPolicy } from '../auth/access.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { RoomService } from '../domain/rooms.ts';
import type { PollService } from '../domain/polls.ts';
import type { FileService } from '../files/service.ts';
import type { SearchService } from '../search/service.ts';
import { Retention, type RetentionPolicy } from './retention.ts';
import { retentionRepo } from '../repos/retention.ts';
import { searchRepo } from '../repos/search.ts';
import { pollsRepo } from '../repos/polls.ts';
import type { Clock, EventBus, Ids } from '../domain/deps.ts';
import { ERRORS } from '../domain/errors.ts';
import type { Db } from '../db/database.ts';
import type { RoomsRepo } from '../repos/rooms.ts';
import type { DocumentsRepo } from '../repos/documents.ts';
import type { UsersRepo } from '../repos/users.ts';
import type { RateLimits } from '../http/rate-limits.ts';
import { DocumentPersistence } from './persistence.ts';
import { writeHead } from './head-mirror.ts';
import { writeUserDoc } from './user-mirror.ts';
import { CollabSockets } from './sockets.ts';
import { Presence } from './presence.ts';
import { WriteQueue } from './write-queue.ts';
import type { Durability } from '../db/wal-sync.ts';
import { OutputGate } from './output-gate.ts';
import { WritePath } from './write-path.ts';
import { Arrivals } from './arrivals.ts';
import { SearchIndexer } from '../search/indexer.ts';
import { readServerDoc } from './server-writes.ts';
import { Authentication } from './extensions/authentication.ts';
import { Validation } from './extensions/validation.ts';
import { Storage } from './extensions/storage.ts';
import { PresenceExtension } from './extensions/presence.ts';
import type { CollabContext } from './context.ts';

export type { CollabContext } from './context.ts';

export interface CollabDeps {
  db: Db;
  sessions: SessionService;
  access: AccessPolicy;
  roomService: RoomService;
  polls: PollService;
  files: FileService;
  search: SearchService;
  retentionPolicy: RetentionPolicy;
  /** Prometheus counters (optional: tests and benches run without). */
  metrics?: { accepted(): void; refused(code: string): void; committed(seconds: number, ops: number): void; fanout(seconds: number): void };
  audit: (e: import('../domain/audit.ts').AuditEntry) => void;
  rooms: RoomsRepo;
  users: UsersRepo;
  documents: DocumentsRepo;
  events: EventBus;
  log: Logger;
  clock: Clock;
  ids: Ids;
  allowedOrigins: string[];
  maxMessageChars: number;
  maxUpdateBytes: number;
  rateLimits: RateLimits;
  /** How the write queue's commits become durable (wal-sync.ts); default: each commit is. */
  durability?: Durability;
  /** A failed fsync (default: exit the process with code 70). */
  onFatal?: (err: unknown) => void;
  /** Updates arriving this soon after a document (re)authenticates count as the offline backlog. */
  backlogGraceMs?: number;
  /** Keep-alive: PING every `pingIntervalMs`; a socket silent for `idleTimeoutMs` is closed. */
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
}

export const BACKLOG_GRACE_MS = 3000;

export function createCollab(d: CollabDeps) {
  let hocuspocus!: Hocuspocus<CollabContext>;
  let sockets!: CollabSockets;
  // arrival tickets of client frames: a batch commits (and reserves seqs) in arrival order
  const arrivals = new Arrivals();
  const queue = new WriteQueue(d.db, {
    durable: (epoch) => gate.release(epoch),
    fatal: (err) => {
      // a failed fsync cannot be retried safely; held frames are never sent, SQLite recovers on restart
      d.log.fatal({ err }, 'the disk could not make committed writes durable; stopping');
      (d.onFatal ?? (() => process.exit(70)))(err);
    },
    measured: (seconds, ops) => d.metrics?.committed(seconds, ops),
    failed: (doc, err) => {
      d.log.error({ err, documentName: doc }, 'a durable write failed; the document reloads from disk');
      if (doc) dropUnsaved(doc);
    },
  }, () => arrivals.now(), d.durability);
  const gate = new OutputGate(queue, (seconds) => d.metrics?.fanout(seconds));
  const persistence = new DocumentPersistence(d.documents, d.clock, queue);
  const indexer = new SearchIndexer({ queue, search: d.search, log: d.log });
  const writes = new WritePath({ hocuspocus: () => hocuspocus as unknown as Hocuspocus, queue, documents: d.documents, roomService: d.roomService, polls: d.polls, events: d.events, log: d.log, clock: d.clock, files: d.files, search: d.search, indexSoon: () => indexer.poke(), audit: d.audit });
  // rows a crash left without their terms
  indexer.poke();
  d.files.connect((name, fn) => writes.write(name, 'file-removed', (doc) => fn(doc)));
  const presence = new Presence(() => hocuspocus.documents, d.clock, d.rateLimits.typing.durationSec * 1000);

  const validation = new Validation({
    access: d.access, roomService: d.roomService, polls: d.polls, files: d.files, writes, rateLimits: d.rateLimits,
    maxMessageChars: d.maxMessageChars, maxUpdateBytes: d.maxUpdateBytes, clock: d.clock,
    backlogGraceMs: d.backlogGraceMs ?? BACKLOG_GRACE_MS, log: d.log, metrics: d.metrics,
    isLive: (doc) => !(doc as Document).isDestroyed && hocuspocus.documents.get((doc as Document).name) === doc,
    arrivalOf: (payload) => arrivals.of(payload),
  });
  const retention = new Retention({
    db: d.db, clock: d.clock, retention: retentionRepo(d.db), rooms: d.rooms, documents: d.documents, search: searchRepo(d.db), pollsRepo: pollsRepo(d.db),
    files: d.files, persistence, queue, events: d.events, hocuspocus: () => hocuspocus as unknown as Hocuspocus, log: d.log, policy: d.retentionPolicy, audit: d.audit,
  });
  const headRetention = () => ({ days: d.retentionPolicy.days(), horizon: retention.lastHorizon() });
  const storage = new Storage({ persistence, writes, rooms: d.rooms, users: d.users, roomService: d.roomService, polls: d.polls, headRetention, loaded: (doc: Y.Doc) => validation.watch(doc) });

  hocuspocus = new Hocuspocus<CollabContext>({
    quiet: true,
    debounce: 2000,
    maxDebounce: 10_000,
    // Hocuspocus merges the updates of one event-loop turn into one broadcast per document, and
    // Y.mergeUpdates sorts its inputs once per struct run: superlinear in the number of updates
    // (28 µs per update at 120, 94 µs at 2,000). Under load a turn holds thousands; flushing every
    // 32 KB (about 150 messages) keeps the merge linear (see docs/BENCHMARKS.md, seals)
    flushMaxBytes: 32 * 1024,
    timeout: d.idleTimeoutMs ?? 45_000,
    extensions: [
      new Authentication({ sessions: d.sessions, access: d.access, sockets: () => sockets, clock: d.clock, log: d.log, documents: () => hocuspocus.documents, opens: d.rateLimits.documents }),
      validation,
      storage,
      new PresenceExtension({ presence: () => presence }),
    ],
  });

  sockets = new CollabSockets(hocuspocus as unknown as Hocuspocus, d.sessions, d.allowedOrigins, d.log, d.rateLimits.upgrade, Math.max(d.maxUpdateBytes * 2, 64 * 1024), d.pingIntervalMs ?? 15_000, {
    opened: (userId) => presence.socketOpened(userId),
    closed: (userId) => presence.socketClosed(userId),
  }, gate, arrivals);

  /**
   * A commit failed: the instance holds state that is not on disk, and its held frames must never
   * be sent. Every socket with a connection on it is closed (the clients reconnect and re-sync);
   * the instance then unloads without being stored and loads again from disk.
   */
  function dropUnsaved(name: string) {
    const doc = hocuspocus.documents.get(name);
    if (!doc) return;
    for (const c of doc.getConnections()) {
      const state = (c.context as CollabContext).socket;
      if (!state) continue;
      gate.discard(state.ws as WebSocket);
      sockets.kill(state, ERRORS['internal-error'].close, 'internal-error');
    }
  }

  function roomDocuments(roomId: string): Document[] {
    const head = headName(roomId);
    return [...hocuspocus.documents.values()].filter((doc) => doc.name === head || doc.name.startsWith(head + ':'));
  }

  d.events.on('sessions-revoked', (ids, reason) => sockets.closeSessions(ids, reason));
  d.events.on('member-removed', (roomId, userId) => {
    mirrorUser(userId);
    for (const doc of roomDocuments(roomId)) {
      for (const c of doc.getConnections()) {
        if ((c.context as CollabContext).user?.id === userId) c.close({ code: ERRORS['not-a-member'].close, reason: 'not-a-member' });
      }
    }
  });

  /**
   * Server-owned documents are rewritten from SQLite when they load (afterLoadDocument), so a change
   * only needs writing into instances that are loaded or loading right now. Writes keep documents
   * warm until their debounced store: unloading at once after every server write made hot segments
   * load and unload many times a second (seen in the seeded convergence test, seed 685891).
   */
  function mirror(name: string, write: (doc: Y.Doc) => void) {
    if (!hocuspocus.documents.has(name) && !hocuspocus.loadingDocuments.has(name)) return;
    writes.write(name, 'head-mirror', write).catch((err) => d.log.error({ err, name }, 'mirror failed'));
  }
  const mirrorUser = (userId: string) => mirror(userDocName(userId), (doc) => writeUserDoc(doc, d.roomService, d.users, userId));
  const mirrorHead = (roomId: string) => mirror(headName(roomId), (doc) => writeHead(doc, d.rooms, d.polls, roomId, headRetention()));

  d.events.on('room-changed', (roomId) => {
    mirrorHead(roomId);
    for (const userId of d.roomService.memberIdsOf(roomId)) mirrorUser(userId);
  });
  d.events.on('user-changed', mirrorUser);
  d.events.on('head-changed', mirrorHead);
  d.events.on('system-line', (roomId, line) => {
    postSystemLine(roomId, line).catch((err) => d.log.error({ err, roomId }, 'system line failed'));
  });
  d.events.on('room-deleted', (roomId) => {
    // the documents' rows went in the transaction that removed the room
    for (const doc of roomDocuments(roomId)) for (const c of doc.getConnections()) c.close({ code: ERRORS['not-found'].close, reason: 'not-found' });
  });

  /** Writes a server line (pin, unpin, poll) into the room's open segment; its receipt follows the commit. */
  async function postSystemLine(roomId: string, line: { author: string; text: string; system: NonNullable<Message['system']> }) {
    const n = d.roomService.openSegmentOf(roomId);
    const name = segmentName(roomId, n);
    const msg: Message = { id: `sys${d.ids.next()}`, author: line.author, text: line.text, createdAt: d.clock.now(), system: line.system };
    await writes.write(name, 'system-line', (doc) => doc.getMap<Message>(SEGMENT_MESSAGES).set(msg.id, msg));
    const doc = hocuspocus.documents.get(name);
    if (doc) await writes.settle(doc, roomId, n, [{ id: msg.id, author: msg.author, bytes: JSON.stringify(msg).length }]);
    // not loaded any more: the receipt is written when it loads again (Storage.afterLoadDocument)
  }

  /** Reads one message (for pins): null when it does not exist or is deleted. */
  async function readMessage(roomId: string, n: number, id: string): Promise<Message | null> {
    if (!d.roomService.segment(roomId, n)) return null;
    return readServerDoc(hocuspocus as unknown as Hocuspocus, segmentName(roomId, n), (doc) => {
      const m = doc.getMap<Message>(SEGMENT_MESSAGES).get(id);
      return m && !m.deleted && !m.system ? m : null;
    });
  }

  return {
    hocuspocus,
    sockets,
    presence,
    queue,
    gate,
    retention,
    refusals: () => Object.fromEntries(validation.refusals),
    /**
     * Documents whose update log grew long while not loaded (a crash before the unload's
     * compaction): loading and unloading one compacts it (Storage.onStoreDocument).
     */
    async compactLongTails(): Promise<{ compacted: number }> {
      const names = d.db.prepare('SELECT name FROM doc_updates GROUP BY name HAVING COUNT(*) > 200 LIMIT 20').pluck().all() as string[];
      let compacted = 0;
      for (const name of names) {
        if (hocuspocus.documents.has(name) || !storage.exists(name)) continue;
        await readServerDoc(hocuspocus as unknown as Hocuspocus, name, () => null);
        compacted++;
      }
      return { compacted };
    },
    readMessage,
    handleUpgrade: sockets.handleUpgrade.bind(sockets),
    async close() {
      indexer.stop();
      sockets.closeAll();
      hocuspocus.flushPendingStores();
      for (const doc of hocuspocus.documents.values()) if (storage.exists(doc.name)) void persistence.compact(doc, doc.name, true);
      queue.close();
    },
  };
}
export type Collab = ReturnType<typeof createCollab>;
