/**
 * The write path shared by the collaboration extensions: what one accepted client update commits
 * atomically, and what follows the commit.
 *
 * One accepted update = one queued operation (WriteQueue): the appended update, the Yjs client ids
 * bound to its writer, a `room_messages` row with seq and server time for each new message (also for
 * a message written into a sealed segment: it gets its place in the room when it arrives, so its
 * author's order holds), and its votes. Nothing of it leaves the process before that commit
 * (OutputGate). After the commit, receipts are written into the documents, one transaction per
 * document per batch; messages that counted in another segment are copied there and marked `movedTo`
 * in the original. Those server writes are durable-before-visible the same way.
 *
 * In memory until their commit: the claimed message ids and client ids of updates in flight, so a
 * second update validated before the first one's commit cannot take them.
 */
import type { Connection, Document, Hocuspocus } from '@hocuspocus/server';
import type { Logger } from 'pino';
import { segmentName, SEGMENT_MESSAGES, SEGMENT_RECEIPTS, type Message, type Receipt } from '../../src/lib/protocol/schema.ts';
import type { DocAccess } from '../auth/access.ts';
import type { RoomService } from '../domain/rooms.ts';
import type { PollService } from '../domain/polls.ts';
import type { Clock, EventBus } from '../domain/deps.ts';
import { DomainError } from '../domain/errors.ts';
import type { DocumentsRepo } from '../repos/documents.ts';
import type { ValidationResult } from './validate.ts';
import type { AppendExtra } from './persistence.ts';
import type { WriteQueue } from './write-queue.ts';
import { serverOrigin } from './origins.ts';
import { writeServerDoc } from './server-writes.ts';
import type { FileService } from '../files/service.ts';
import type { SearchService } from '../search/service.ts';

/** Owner recorded for the server's own Yjs client ids: no user can write with them. */
export const SERVER_CLIENT_OWNER = '@server';

export interface Pending {
  result: ValidationResult;
  access: DocAccess;
  userId: string;
  /** The writer's address (for the audit log). */
  ip?: string;
  /** Arrival ticket of the frame the update came in (arrivals.ts): the order its messages get their seqs in. */
  order?: number;
}

interface Reserved {
  id: string;
  seq: number;
  at: number;
  segment: number;
  sealed: boolean;
}

interface Placement {
  receipt: Receipt;
  /** Set when the message counts in another segment: its content, to copy there. */
  move?: { from: string; message: Message };
}

export interface WritePathDeps {
  hocuspocus: () => Hocuspocus;
  queue: WriteQueue;
  documents: DocumentsRepo;
  roomService: RoomService;
  polls: PollService;
  events: EventBus;
  log: Logger;
  clock: Clock;
  files: FileService;
  search: SearchService;
  /** New search rows were committed: their terms follow soon (search/indexer.ts). */
  indexSoon: () => void;
  audit: (e: import('../domain/audit.ts').AuditEntry) => void;
}

const claimKey = (roomId: string, id: string) => `${roomId}\u0000${id}`;
/** Far longer than any commit takes; only a claim whose update vanished gets this old. */
export const CLAIM_TTL_MS = 30_000;

export class WritePath {
  /** Validated updates waiting to be applied, per connection (set in beforeSync). */
  readonly pending = new WeakMap<Connection, Pending>();
  /** The update a connection got applied last (moved out of `pending` by the apply): for afterHandleMessage. */
  readonly lastApplied = new WeakMap<Connection, Pending>();
  /** id → segment and when it was claimed; a claim lives from validation to its commit (milliseconds). */
  private claimedIds = new Map<string, { segment: number; at: number }>();
  private claimedClients = new Map<string, string>();
  private owners = new Map<string, string>();
  private serverBound = new WeakSet<Document>();
  /** Receipts to write after the current batch, per document name. */
  private placements = new Map<string, Map<string, Placement>>();
  private placing = false;

  constructor(private d: WritePathDeps) {}

  // ---- what the validator asks ------------------------------------------------------------------

  clientOwner(docName: string, client: number): string | undefined {
    const key = `${docName}\u0000${client}`;
    const known = this.claimedClients.get(key) ?? this.owners.get(key);
    if (known !== undefined) return known;
    const owner = this.d.documents.clientOwner(docName, client);
    // a binding never changes once written: remember it (bounded, it is only a cache)
    if (owner !== undefined) {
      if (this.owners.size >= 100_000) this.owners.clear();
      this.owners.set(key, owner);
    }
    return owner;
  }

  messageSegment(roomId: string, id: string): number | undefined {
    const key = claimKey(roomId, id);
    const claim = this.claimedIds.get(key);
    if (claim) {
      // a claim whose update was never applied nor released (its connection vanished in between)
      // must not block the honest re-send of the same message forever
      if (this.d.clock.now() - claim.at < CLAIM_TTL_MS) return claim.segment;
      this.claimedIds.delete(key);
    }
    return this.d.roomService.messageSegment(roomId, id);
  }

  /** An update passed validation: hold its ids until it commits or is dropped. */
  claim(docName: string, p: Pending): void {
    const at = this.d.clock.now();
    for (const m of p.result.newMessages) this.claimedIds.set(claimKey(p.access.roomId, m.id), { segment: p.access.segment!, at });
    for (const c of p.result.clientIds) this.claimedClients.set(`${docName}\u0000${c}`, p.userId);
    this.d.files.claim(p.result.attachments.flatMap((a) => a.fileIds));
  }

  release(docName: string, p: Pending): void {
    for (const m of p.result.newMessages) this.claimedIds.delete(claimKey(p.access.roomId, m.id));
    for (const c of p.result.clientIds) this.claimedClients.delete(`${docName}\u0000${c}`);
    this.d.files.release(p.result.attachments.flatMap((a) => a.fileIds));
  }

  // ---- the atomic write of one applied update ---------------------------------------------------

  /** The rest of the commit of an accepted client update (appended by persistence with it). */
  acceptedUpdate(document: Document, p: Pending): AppendExtra<Reserved[]> {
    const { roomId, segment: n } = p.access;
    const name = document.name;
    // called right after the apply: the document holds the values Yjs kept, and only their files count
    const kept = document.getMap<Message>(SEGMENT_MESSAGES);
    // in the kept message's order (the room's file list shows a message's files in that order)
    const attachments = p.result.attachments.map((a) => ({
      messageId: a.messageId,
      fileIds: (kept.get(a.messageId)?.attachments ?? []).map((f) => f.id).filter((id) => a.fileIds.includes(id)),
    })).filter((a) => a.fileIds.length);
    const removed = p.result.removedFiles.filter((r) => kept.get(r.messageId)?.deleted).flatMap((r) => r.fileIds);
    return {
      order: p.order,
      run: () => {
        for (const client of p.result.clientIds) this.d.documents.bindClient(name, client, p.userId);
        // the validator found these ids absent from the room and claimed them: no second lookup
        const reserved = p.result.newMessages.map((m) => ({ id: m.id, ...this.d.roomService.reserveMessage(roomId, n!, m.id, m.author, m.bytes, { checkedAbsent: true }) }));
        for (const v of p.result.votes) {
          // checked at validation; the poll may have closed since: refuse rather than keep it uncounted
          if (!this.d.polls.record(roomId, v.pollId, p.userId, v.optionIds)) throw new DomainError('poll-closed');
        }
        // the tokens are spent with the receipt: a file belongs to the segment its message counts in
        for (const a of attachments) {
          const segment = reserved.find((r) => r.id === a.messageId)?.segment ?? this.d.roomService.messageSegment(roomId, a.messageId) ?? n!;
          this.d.files.attachInTx(roomId, p.userId, a.messageId, segment, a.fileIds);
        }
        this.d.files.removeInTx(removed);
        // the search rows follow in the same commit: new messages where they count, edits, deletes
        // (the terms of new rows are added in batches after it: search/indexer.ts)
        for (const r of reserved) {
          const m = kept.get(r.id);
          if (m) this.d.search.indexInTx(roomId, m, { segment: r.segment, at: r.at });
        }
        for (const id of p.result.changed) {
          const m = kept.get(id);
          if (m) this.d.search.indexInTx(roomId, m, null);
        }
        // a room admin deleting someone else's message: audited in the same commit
        for (const d of p.result.moderated) {
          if (kept.get(d.messageId)?.deleted) this.d.audit({ actorId: p.userId, action: 'message.delete', targetType: 'message', targetId: d.messageId, roomId, ip: p.ip, details: { author: d.author, segment: n } });
        }
        return reserved;
      },
      committed: (reserved) => {
        this.release(name, p);
        if (reserved.length) this.d.indexSoon();
        this.d.files.removeBytes(removed);
        this.place(document, roomId, n!, reserved);
      },
      failed: (err) => {
        this.release(name, p);
        this.d.log.error({ err, documentName: name }, 'accepted update could not be committed');
      },
    };
  }

  /** A server write into an instance: its Yjs client id is bound to the server (once per instance). */
  serverWrite(document: Document): AppendExtra<void> | null {
    if (this.serverBound.has(document)) return null;
    this.serverBound.add(document);
    return {
      run: () => this.d.documents.bindClient(document.name, document.clientID, SERVER_CLIENT_OWNER),
      committed: () => {},
      failed: () => this.serverBound.delete(document),
    };
  }

  // ---- after the commit ---------------------------------------------------------------------------

  /**
   * Reserves (idempotently) and places messages the server found without a receipt: written by the
   * server itself (system lines), or left by a crash between an update's commit and its receipts.
   */
  settle(document: Document, roomId: string, n: number, messages: { id: string; author: string; bytes: number }[]): Promise<void> {
    if (!messages.length) return Promise.resolve();
    return this.d.queue
      .enqueue({ doc: document.name, run: () => messages.map((m) => ({ id: m.id, ...this.d.roomService.reserveMessage(roomId, n, m.id, m.author, m.bytes) })) })
      .then((reserved) => this.place(document, roomId, n, reserved));
  }

  private place(source: Document, roomId: string, n: number, reserved: Reserved[]): void {
    if (!reserved.length) return;
    const messages = source.getMap<Message>(SEGMENT_MESSAGES);
    for (const r of reserved) {
      if (r.sealed) this.d.events.emit('room-changed', roomId);
      const receipt: Receipt = { seq: r.seq, at: r.at };
      if (r.segment === n) {
        this.add(source.name, r.id, { receipt });
        continue;
      }
      const message = messages.get(r.id);
      if (!message) continue;
      this.add(segmentName(roomId, r.segment), r.id, { receipt, move: { from: source.name, message } });
    }
    if (!this.placing) {
      this.placing = true;
      // every operation of a batch settles in the same turn: one write per document for all of them
      setImmediate(() => void this.writePlacements());
    }
  }

  private add(docName: string, id: string, p: Placement) {
    let m = this.placements.get(docName);
    if (!m) this.placements.set(docName, (m = new Map()));
    m.set(id, p);
  }

  private async writePlacements(): Promise<void> {
    this.placing = false;
    const all = this.placements;
    this.placements = new Map();
    const markers = new Map<string, [string, Receipt][]>();
    await Promise.all(
      [...all].map(async ([name, entries]) => {
        try {
          await this.write(name, 'receipts', (doc) => {
            const msgs = doc.getMap<Message>(SEGMENT_MESSAGES);
            const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
            for (const [id, p] of entries) {
              // the original as it is now (an edit may have landed on it since the commit)
              const current = p.move && this.d.hocuspocus().documents.get(p.move.from)?.getMap<Message>(SEGMENT_MESSAGES).get(id);
              if (p.move && !msgs.has(id)) msgs.set(id, current ?? p.move.message);
              if (!receipts.has(id)) receipts.set(id, p.receipt);
            }
          });
          const n = Number(name.slice(name.lastIndexOf(':') + 1));
          for (const [id, p] of entries) {
            if (!p.move) continue;
            const list = markers.get(p.move.from) ?? [];
            list.push([id, { ...p.receipt, movedTo: n }]);
            markers.set(p.move.from, list);
          }
        } catch (err) {
          this.d.log.error({ err, name }, 'writing receipts failed');
        }
      }),
    );
    // the originals are marked only once their copies are in place
    await Promise.all(
      [...markers].map(([name, list]) =>
        this.write(name, 'move', (doc) => {
          const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
          for (const [id, r] of list) if (receipts.get(id)?.movedTo === undefined) receipts.set(id, r);
        }).catch((err) => this.d.log.error({ err, name }, 'marking moved messages failed')),
      ),
    );
  }

  /** A server write: straight into the live instance when it is loaded, else through a direct connection. */
  async write(name: string, kind: Parameters<typeof serverOrigin>[0], fn: (doc: Document) => void): Promise<void> {
    const hp = this.d.hocuspocus();
    const live = hp.documents.get(name);
    if (live && !live.isDestroyed && !live.isLoading) {
      live.transact(() => fn(live), serverOrigin(kind));
      return;
    }
    await writeServerDoc(hp, name, kind, fn);
  }

  /**
   * An edit or delete that lands on the sealed-segment copy of a moved message (a client that had not
   * seen the move yet) is forwarded to the copy that counts, so it is not lost.
   */
  async forwardEdits(document: Document, roomId: string, n: number, changed: string[]): Promise<void> {
    const messages = document.getMap<Message>(SEGMENT_MESSAGES);
    const receipts = document.getMap<Receipt>(SEGMENT_RECEIPTS);
    const byTarget = new Map<number, Message[]>();
    for (const id of changed) {
      // the marker may not be written yet: the room's index knows where the message counts
      const counted = this.d.roomService.messageSegment(roomId, id);
      const target = receipts.get(id)?.movedTo ?? (counted !== undefined && counted !== n ? counted : undefined);
      const msg = messages.get(id);
      if (target === undefined || !msg) continue;
      byTarget.set(target, [...(byTarget.get(target) ?? []), msg]);
    }
    for (const [target, msgs] of byTarget) {
      await this.write(segmentName(roomId, target), 'forward', (doc) => {
        const there = doc.getMap<Message>(SEGMENT_MESSAGES);
        for (const msg of msgs) {
          const current = there.get(msg.id);
          // never resurrect or roll back: a deletion there wins, and only newer edits pass
          if (!current || current.deleted || (current.editedAt ?? 0) > (msg.editedAt ?? 0)) continue;
          there.set(msg.id, msg);
        }
      });
    }
  }
}
