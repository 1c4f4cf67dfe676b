/**
 * The collaboration service: Hocuspocus v4 with our hooks.
 *
 * Hooks and when they fire (throwing in each refuses with the error's code):
 * - onAuthenticate: once per document per (re)connect. Validates the token (or the socket's cookie
 *   session) and decides access through the access policy; the head document is read-only.
 * - onLoadDocument / afterLoadDocument: load snapshot + tail; start appending updates; mirror the head.
 * - beforeSync: every sync step 2 / update before it is applied. Validates (SPEC §4) and rate-limits;
 *   a throw closes that document's connection with the code as reason and nothing is applied.
 * - afterHandleMessage: after an accepted update: binds client ids, writes receipts, moves messages
 *   that arrived in a sealed segment.
 * - onStoreDocument: debounced compaction.
 */
import { Hocuspocus } from '@hocuspocus/server';
import type { Connection, Document } from '@hocuspocus/server';
import * as Y from 'yjs';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { parseDocName, headName, segmentName, userDocName, PRESENCE_DOC, type StatelessFromClient, type StatelessFromServer, SEGMENT_MESSAGES, SEGMENT_RECEIPTS, type Message, type Receipt } from '../../src/lib/protocol/schema.ts';
import type { AccessPolicy, DocAccess } from '../auth/access.ts';
import type { Authenticated, SessionService } from '../auth/sessions.ts';
import type { RoomService } from '../domain/rooms.ts';
import type { PollService } from '../domain/polls.ts';
import type { EventBus } from '../domain/deps.ts';
import { DomainError, ERRORS } from '../domain/errors.ts';
import type { RoomsRepo } from '../repos/rooms.ts';
import type { DocumentsRepo } from '../repos/documents.ts';
import { DocumentPersistence } from './persistence.ts';
import { validateSegmentUpdate, checkReadOnlyUpdate, type ValidationResult } from './validate.ts';
import { writeHead } from './head-mirror.ts';
import { writeUserDoc } from './user-mirror.ts';
import type { UsersRepo } from '../repos/users.ts';
import { CollabSockets, type SocketState } from './sockets.ts';
import { serverOrigin } from './origins.ts';
import { Presence } from './presence.ts';
import crypto from 'node:crypto';

const randomIdPart = () => crypto.randomBytes(9).toString('base64url');
import type { RateLimits } from '../http/rate-limits.ts';

export interface CollabContext {
  socket?: SocketState;
  server?: true;
  user?: { id: string };
  sessionId?: string;
  access?: DocAccess;
  /** When this document connection authenticated (the reconnect grace for offline backlogs). */
  authAt?: number;
}

export interface CollabDeps {
  sessions: SessionService;
  access: AccessPolicy;
  roomService: RoomService;
  polls: PollService;
  rooms: RoomsRepo;
  users: UsersRepo;
  documents: DocumentsRepo;
  events: EventBus;
  log: Logger;
  allowedOrigins: string[];
  maxMessageChars: number;
  maxUpdateBytes: number;
  rateLimits: RateLimits;
  /** Runs fn in one SQLite transaction (one fsync for receipts, counters and the appended update). */
  transaction: <T>(fn: () => T) => T;
  /** Keep-alive: PING every `pingIntervalMs`; a socket silent for `idleTimeoutMs` is closed. */
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
}

/** What Hocuspocus reads from a thrown value: `code` closes with it, `reason` is the client-visible code. */
function refusal(e: unknown): { code: number; reason: string } {
  if (e instanceof DomainError) return e.closeEvent;
  return { code: ERRORS['internal-error'].close, reason: 'internal-error' };
}

/** Updates arriving this soon after a document (re)authenticates count as the offline backlog. */
export const BACKLOG_GRACE_MS = 3000;

interface Pending {
  result: ValidationResult;
  access: DocAccess;
  userId: string;
}

export function createCollab(d: CollabDeps) {
  const persistence = new DocumentPersistence(d.documents, { now: () => Date.now() });
  const pending = new WeakMap<Connection, Pending>();
  /** Bumped on every update of a loaded document: tells whether validation must run again. */
  const versions = new WeakMap<Y.Doc, number>();
  const limits = d.rateLimits.messages;
  const messageLimiter = new RateLimiterMemory({ points: limits.points, duration: limits.durationSec });
  // what was written offline arrives at once in the reconnect's sync step 2: its own, larger budget
  const backlogLimiter = new RateLimiterMemory({ points: d.rateLimits.backlog.points, duration: d.rateLimits.backlog.durationSec });

  const roomExists = (name: string) => {
    const parsed = parseDocName(name);
    if (parsed?.kind === 'user') return !!d.users.byId(parsed.userId);
    if (parsed?.kind === 'presence') return true;
    return !!parsed && !!d.rooms.byId(parsed.roomId);
  };

  const hocuspocus: Hocuspocus<CollabContext> = new Hocuspocus<CollabContext>({
    quiet: true,
    debounce: 2000,
    maxDebounce: 10_000,
    timeout: d.idleTimeoutMs ?? 45_000,

    async onAuthenticate({ token, documentName, context, connectionConfig }) {
      try {
        let auth: Authenticated | null = null;
        if (token) {
          auth = d.sessions.validate(token);
          if (!auth) throw new DomainError('unauthorized');
        } else if (context.socket?.auth) {
          // the cookie session, re-checked (cached) so a revoked session cannot open more documents
          auth = d.sessions.validate(context.socket.cookieToken);
        }
        if (!auth) throw new DomainError('unauthorized');
        if (context.socket?.closed) throw new DomainError('session-revoked');
        const access = d.access.document(auth.user.id, documentName);
        connectionConfig.readOnly = access.readOnly;
        if (context.socket) sockets.bind(context.socket, auth);
        return { user: { id: auth.user.id }, sessionId: auth.session.id, access, authAt: Date.now() } satisfies CollabContext;
      } catch (e) {
        throw refusal(e);
      }
    },

    async onLoadDocument({ documentName }) {
      // never throw here (Hocuspocus #1156); access was decided in onAuthenticate
      return persistence.load(documentName) ?? undefined;
    },

    async afterLoadDocument({ document, documentName }) {
      document.on('update', () => versions.set(document, (versions.get(document) ?? 0) + 1));
      // Tracking is per Document instance and ends with it: a name can be unloaded and loaded again
      // while the old instance's unload hooks are still running, so nothing is keyed by name.
      persistence.track(document, documentName, () => {
        if (document.isDestroyed) {
          d.log.error({ documentName }, 'write to an unloaded document instance ignored');
          return false;
        }
        return roomExists(documentName);
      });
      const parsed = parseDocName(documentName);
      if (parsed?.kind === 'head') writeHead(document, d.rooms, d.polls, parsed.roomId);
      if (parsed?.kind === 'user') writeUserDoc(document, d.roomService, d.users, parsed.userId);
      if (parsed?.kind === 'segment') repairReceipts(document, parsed.roomId, parsed.n);
    },

    async beforeSync({ type, payload, document, documentName, context, connection }) {
      if (type === 0 || context.server) return; // sync step 1 carries only a state vector
      try {
        if (payload.byteLength > d.maxUpdateBytes) throw new DomainError('update-too-large');
        const access = context.access!;
        if (access.segment === null) return checkReadOnlyUpdate(document, payload);
        if (!d.roomService.segment(access.roomId, access.segment)) throw new DomainError('segment-closed');
        const userId = context.user!.id;
        const validate = () =>
          validateSegmentUpdate(document, payload, { userId, isRoomAdmin: d.access.moderates(userId, access.roomId) }, {
            maxChars: d.maxMessageChars,
            clientOwner: (client) => d.documents.clientOwner(documentName, client),
            checkVote: (pollId, optionIds) => (d.polls.roomOf(pollId) === access.roomId ? d.polls.checkDocumentVote(pollId, optionIds) : 'invalid-option'),
          });
        let result = validate();
        const versionBefore = versions.get(document) ?? 0;
        if (result.writes > 0) {
          try {
            // a sync step 2, or updates right after (re)authenticating: what was written offline
            const backlog = type === 1 || Date.now() - (context.authAt ?? 0) < BACKLOG_GRACE_MS;
            await (backlog ? backlogLimiter : messageLimiter).consume(userId, result.writes);
          } catch (e) {
            if (e instanceof RateLimiterRes) throw new DomainError('rate-limited');
            throw e;
          }
          // another connection's update may have been applied while we waited: validate against it
          if ((versions.get(document) ?? 0) !== versionBefore) result = validate();
        }
        pending.set(connection, { result, access, userId });
      } catch (e) {
        if (!(e instanceof DomainError)) d.log.error({ err: e, documentName }, 'update validation crashed');
        else d.log.info({ documentName, code: e.code, detail: e.message, user: context.user?.id, type }, 'update refused');
        throw refusal(e);
      }
    },

    async afterHandleMessage({ connection, document, documentName }) {
      const p = pending.get(connection);
      if (!p) return;
      pending.delete(connection);
      for (const client of p.result.clientIds) d.documents.bindClient(documentName, client, p.userId);
      if (p.result.newMessages.length) await issueReceipts(document, p);
      if (p.result.changed.length) await forwardEditsOfMovedMessages(document, p);
      for (const v of p.result.votes) d.polls.record(p.access.roomId, v.pollId, p.userId, v.optionIds);
    },

    async beforeHandleAwareness() {
      // presence is not part of the protocol yet: clients pass `awareness: null`
      throw refusal(new DomainError('forbidden', 'Awareness is not enabled.'));
    },

    async connected({ documentName, connection }) {
      // Hocuspocus race: a document can finish unloading between createDocument() resolving and the
      // connection attaching, leaving this connection on a dead instance that never hears later
      // writes. Ask the client to sync again; it lands on the live instance.
      if (hocuspocus.documents.get(documentName) !== connection.document) {
        d.log.warn({ documentName }, 'connection attached to an unloaded document instance; asking for a resync');
        connection.close({ code: ERRORS.resync.close, reason: 'resync' });
        return;
      }
      if (documentName === PRESENCE_DOC) connection.sendStateless(JSON.stringify({ t: 'presence-all', users: presence.snapshot() } satisfies StatelessFromServer));
    },

    async onStateless({ connection, documentName, document, payload }) {
      const ctx = connection.context as CollabContext;
      const userId = ctx.user?.id;
      if (!userId || payload.length > 200) return;
      let msg: StatelessFromClient;
      try {
        msg = JSON.parse(payload) as StatelessFromClient;
      } catch {
        return;
      }
      if (documentName === PRESENCE_DOC && msg.t === 'away' && typeof msg.away === 'boolean') presence.setAway(userId, msg.away);
      else if (msg.t === 'typing' && ctx.access?.roomId && ctx.access.segment === null) presence.typing(connection, document, userId);
    },

    async onStoreDocument({ document, documentName }) {
      if (roomExists(documentName)) persistence.compact(document, documentName, document.getConnectionsCount() === 0);
    },

  });

  /** Receipts give each new message its room-wide order and server time; sealed segments hand over. */
  async function issueReceipts(document: Document, p: Pending) {
    const { roomId, segment: n } = p.access;
    const messages = document.getMap<Message>(SEGMENT_MESSAGES);
    const receipts = document.getMap<Receipt>(SEGMENT_RECEIPTS);
    const moves: Message[] = [];
    d.transaction(() => document.transact(() => {
      for (const { id, bytes } of p.result.newMessages) {
        const msg = messages.get(id);
        if (!msg || receipts.has(id)) continue;
        const seg = d.roomService.segment(roomId, n!)!;
        if (seg.sealed_at !== null) {
          moves.push(msg);
          continue;
        }
        const r = d.roomService.recordMessage(roomId, n!, bytes);
        receipts.set(id, { seq: r.seq, at: r.at });
      }
    }, serverOrigin('receipts')));
    if (moves.length) await moveToOpenSegment(document, roomId, moves);
  }

  /** A message written into a sealed segment is copied into the open one; the original is marked moved. */
  async function moveToOpenSegment(from: Document, roomId: string, moves: Message[]) {
    const target = d.roomService.openSegmentOf(roomId);
    const conn = await hocuspocus.openDirectConnection(segmentName(roomId, target), { server: true });
    const placed: [string, Receipt][] = [];
    try {
      await conn.transact((doc) => {
        const messages = doc.getMap<Message>(SEGMENT_MESSAGES);
        const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
        for (const msg of moves) {
          if (receipts.has(msg.id)) continue;
          const r = d.roomService.recordMessage(roomId, target, JSON.stringify(msg).length);
          messages.set(msg.id, msg);
          const receipt = { seq: r.seq, at: r.at };
          receipts.set(msg.id, receipt);
          placed.push([msg.id, { ...receipt, movedTo: target }]);
        }
      });
    } finally {
      await conn.disconnect({ unloadImmediately: false });
    }
    // after the awaits above `from` may have been unloaded (and reloaded): write to the live instance
    const back = await hocuspocus.openDirectConnection(from.name, { server: true });
    try {
      await back.transact((doc) => {
        const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
        for (const [id, r] of placed) receipts.set(id, r);
      });
    } finally {
      await back.disconnect({ unloadImmediately: false });
    }
  }

  /**
   * An edit or delete that lands on the sealed-segment copy of a moved message (a client that had not
   * seen the move yet) is forwarded to the copy that counts, so it is not lost.
   */
  async function forwardEditsOfMovedMessages(document: Document, p: Pending) {
    const messages = document.getMap<Message>(SEGMENT_MESSAGES);
    const receipts = document.getMap<Receipt>(SEGMENT_RECEIPTS);
    const byTarget = new Map<number, Message[]>();
    for (const id of p.result.changed) {
      const target = receipts.get(id)?.movedTo;
      const msg = messages.get(id);
      if (target === undefined || !msg) continue;
      byTarget.set(target, [...(byTarget.get(target) ?? []), msg]);
    }
    for (const [target, msgs] of byTarget) {
      const conn = await hocuspocus.openDirectConnection(segmentName(p.access.roomId, target), { server: true });
      try {
        await conn.transact((doc) => {
          const there = doc.getMap<Message>(SEGMENT_MESSAGES);
          for (const msg of msgs) {
            const current = there.get(msg.id);
            // never resurrect or roll back: a deletion there wins, and only newer edits pass
            if (!current || current.deleted || (current.editedAt ?? 0) > (msg.editedAt ?? 0)) continue;
            there.set(msg.id, msg);
          }
        });
      } finally {
        await conn.disconnect({ unloadImmediately: false });
      }
    }
  }

  /** After a crash between accepting a message and writing its receipt, the receipt is written on load. */
  function repairReceipts(document: Document, roomId: string, n: number) {
    const messages = document.getMap<Message>(SEGMENT_MESSAGES);
    const receipts = document.getMap<Receipt>(SEGMENT_RECEIPTS);
    const missing = [...messages.entries()].filter(([id]) => !receipts.has(id)).sort((a, b) => a[1].createdAt - b[1].createdAt);
    if (!missing.length || !d.roomService.segment(roomId, n)) return;
    document.transact(() => {
      for (const [id, msg] of missing) {
        const r = d.roomService.recordMessage(roomId, n, JSON.stringify(msg).length);
        receipts.set(id, { seq: r.seq, at: r.at });
      }
    }, serverOrigin('repair'));
  }

  const presence = new Presence(hocuspocus as unknown as Hocuspocus);
  const sockets = new CollabSockets(hocuspocus as unknown as Hocuspocus, d.sessions, d.allowedOrigins, d.log, d.rateLimits.upgrade, Math.max(d.maxUpdateBytes * 2, 64 * 1024), d.pingIntervalMs ?? 15_000, {
    opened: (userId) => presence.socketOpened(userId),
    closed: (userId) => presence.socketClosed(userId),
  });

  function roomDocuments(roomId: string): Document[] {
    const head = headName(roomId);
    return [...hocuspocus.documents.values()].filter((doc) => doc.name === head || doc.name.startsWith(head + ':'));
  }

  d.events.on('sessions-revoked', (ids) => sockets.closeSessions(ids));
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
   * only needs writing into instances that are loaded or loading right now.
   */
  // Server writes disconnect with `unloadImmediately: false`: the document stays warm until the
  // debounced store. Unloading at once after every server write made a hot segment load and unload
  // many times a second, and under that churn clients could end up missing later writes (seen in the
  // seeded convergence test, seed 685891).
  function mirror(name: string, write: (doc: Y.Doc) => void) {
    if (!hocuspocus.documents.has(name) && !hocuspocus.loadingDocuments.has(name)) return;
    (async () => {
      const conn = await hocuspocus.openDirectConnection(name, { server: true });
      try {
        await conn.transact(write);
      } finally {
        await conn.disconnect({ unloadImmediately: false });
      }
    })().catch((err) => d.log.error({ err, name }, 'mirror failed'));
  }
  const mirrorUser = (userId: string) => mirror(userDocName(userId), (doc) => writeUserDoc(doc, d.roomService, d.users, userId));

  d.events.on('room-changed', (roomId) => {
    mirror(headName(roomId), (doc) => writeHead(doc, d.rooms, d.polls, roomId));
    for (const userId of d.roomService.memberIdsOf(roomId)) mirrorUser(userId);
  });
  d.events.on('user-changed', mirrorUser);
  d.events.on('head-changed', (roomId) => mirror(headName(roomId), (doc) => writeHead(doc, d.rooms, d.polls, roomId)));
  d.events.on('system-line', (roomId, line) => {
    postSystemLine(roomId, line).catch((err) => d.log.error({ err, roomId }, 'system line failed'));
  });

  /** Writes a server line (pin, unpin, poll) into the room's open segment, with its receipt. */
  async function postSystemLine(roomId: string, line: { author: string; text: string; system: NonNullable<Message['system']> }) {
    const n = d.roomService.openSegmentOf(roomId);
    const conn = await hocuspocus.openDirectConnection(segmentName(roomId, n), { server: true });
    try {
      await conn.transact((doc) => {
        const id = `sys${randomIdPart()}`;
        const msg: Message = { id, author: line.author, text: line.text, createdAt: Date.now(), system: line.system };
        const r = d.roomService.recordMessage(roomId, n, JSON.stringify(msg).length);
        doc.getMap<Message>(SEGMENT_MESSAGES).set(id, msg);
        doc.getMap<Receipt>(SEGMENT_RECEIPTS).set(id, { seq: r.seq, at: r.at });
      });
    } finally {
      await conn.disconnect({ unloadImmediately: false });
    }
  }

  /** Reads one message (for pins): null when it does not exist or is deleted. */
  async function readMessage(roomId: string, n: number, id: string): Promise<Message | null> {
    if (!d.roomService.segment(roomId, n)) return null;
    const conn = await hocuspocus.openDirectConnection(segmentName(roomId, n), { server: true });
    try {
      const found: { m: Message | null } = { m: null };
      await conn.transact((doc) => {
        const m = doc.getMap<Message>(SEGMENT_MESSAGES).get(id);
        found.m = m && !m.deleted && !m.system ? m : null;
      });
      return found.m;
    } finally {
      await conn.disconnect({ unloadImmediately: false });
    }
  }
  d.events.on('room-deleted', (roomId) => {
    for (const doc of roomDocuments(roomId)) for (const c of doc.getConnections()) c.close({ code: ERRORS['not-found'].close, reason: 'not-found' });
    d.documents.removeRoomDocs(roomId);
  });

  return {
    hocuspocus,
    sockets,
    presence,
    readMessage,
    handleUpgrade: sockets.handleUpgrade.bind(sockets),
    async close() {
      sockets.closeAll();
      hocuspocus.flushPendingStores();
      for (const doc of hocuspocus.documents.values()) if (roomExists(doc.name)) persistence.compact(doc, doc.name, true);
    },
  };
}
export type Collab = ReturnType<typeof createCollab>;
