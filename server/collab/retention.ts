/**
 * Retention (`RETENTION_DAYS`): messages whose server time is older than the horizon are erased
 * from the server: documents, search index, files and thumbnails, and pins that quote them (with
 * the excerpts of their pin/unpin lines).
 *
 * - A sealed segment with nothing left but expired messages is dropped whole: its connections are
 *   closed, its rows (snapshot, updates, client ids) and its segment row are deleted, so any later
 *   sync or write to it is refused (`not-found`) and clients delete their copies. A new document
 *   name is the only way to shed Yjs history.
 * - A boundary segment (some messages expired) is pruned by a server write inside the document
 *   hooks (the expired entries, their receipts and reactions are deleted; Yjs garbage-collects their
 *   content), then compacted at once, so the erased text leaves the update log: the snapshot is
 *   rewritten and every covered update row deleted. Clients receive the deletions by sync.
 * - SQLite runs with `secure_delete` and FTS5 `secure-delete`, and the WAL is checkpointed
 *   (TRUNCATE) after a run, so the bytes are gone from the database file and the WAL.
 * - Order: documents first, then the SQL marks (a crash in between makes the next run prune again;
 *   the other order could leave content that the marks say is gone). Search and downloads also
 *   refuse anything older than the horizon meanwhile.
 * - Each run is recorded in `retention_runs` (for the audit log of the admin dashboard).
 */
import type { Hocuspocus } from '@hocuspocus/server';
import type { Logger } from 'pino';
import { segmentName, SEGMENT_MESSAGES, SEGMENT_REACTIONS, SEGMENT_RECEIPTS, type Message } from '../../src/lib/protocol/schema.ts';
import type { Db } from '../db/database.ts';
import type { Clock, EventBus } from '../domain/deps.ts';
import { ERRORS } from '../domain/errors.ts';
import type { DocumentsRepo } from '../repos/documents.ts';
import type { PollsRepo } from '../repos/polls.ts';
import type { RetentionRepo } from '../repos/retention.ts';
import type { RoomsRepo } from '../repos/rooms.ts';
import type { SearchRepo } from '../repos/search.ts';
import type { FileService } from '../files/service.ts';
import type { DocumentPersistence } from './persistence.ts';
import type { WriteQueue } from './write-queue.ts';
import { serverOrigin } from './origins.ts';

export const DAY_MS = 24 * 3600 * 1000;

/** RETENTION_DAYS and the horizon it gives now; shared by retention, search and downloads. */
export interface RetentionPolicy {
  days(): number;
  /** The oldest server time kept (0: everything is kept). */
  horizon(): number;
}

export function retentionPolicy(days: () => number, clock: Clock): RetentionPolicy {
  return { days, horizon: () => (days() > 0 ? clock.now() - days() * DAY_MS : 0) };
}

export interface RetentionDeps {
  db: Db;
  clock: Clock;
  retention: RetentionRepo;
  rooms: RoomsRepo;
  documents: DocumentsRepo;
  search: SearchRepo;
  pollsRepo: PollsRepo;
  files: FileService;
  persistence: DocumentPersistence;
  queue: WriteQueue;
  events: EventBus;
  hocuspocus: () => Hocuspocus;
  log: Logger;
  /** The policy: RETENTION_DAYS now (0: keep forever) and its horizon. */
  policy: RetentionPolicy;
  audit: (e: import('../domain/audit.ts').AuditEntry) => void;
}

export interface RetentionResult {
  horizon: number;
  segmentsDropped: number;
  messagesErased: number;
  filesErased: number;
  pinsRemoved: number;
}

export class Retention {
  private running: Promise<RetentionResult | null> | null = null;

  constructor(private d: RetentionDeps) {}

  /** The last recorded run (for the dashboard's health), or null. */
  lastRun() {
    return this.d.retention.runs(1)[0] ?? null;
  }

  /** The horizon of the last run: what clients are told to forget (stable between runs). */
  lastHorizon(): number {
    return this.d.retention.runs(1)[0]?.horizon ?? 0;
  }

  /** One run (concurrent calls share it). */
  run(): Promise<RetentionResult | null> {
    if (!this.running) this.running = this.runOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async runOnce(): Promise<RetentionResult | null> {
    const horizon = this.d.policy.horizon();
    if (!horizon) return null;
    const result: RetentionResult = { horizon, segmentsDropped: 0, messagesErased: 0, filesErased: 0, pinsRemoved: 0 };
    const touchedRooms = new Set<string>();
    const removedPins = new Map<string, string[]>(); // room -> pin ids

    const groups = this.d.retention.groups(horizon);
    for (const g of groups) {
      const room = this.d.rooms.byId(g.room_id);
      const segment = this.d.rooms.segment(g.room_id, g.segment);
      if (!room) continue;
      const whole = segment && segment.sealed_at !== null && room.open_segment !== g.segment && this.d.retention.liveCount(g.room_id, g.segment) === g.expired;
      const ids = whole ? this.d.retention.segmentIds(g.room_id, g.segment) : this.d.retention.expiredIds(g.room_id, g.segment, horizon);
      if (whole) await this.dropSegment(g.room_id, g.segment, ids, result, removedPins);
      else await this.prune(g.room_id, g.segment, ids, result, removedPins);
      touchedRooms.add(g.room_id);
    }
    // sealed segments with nothing left in them (all erased, or never written) go as well
    for (const s of this.d.retention.emptyOldSegments(horizon)) {
      await this.dropSegment(s.room_id, s.n, [], result, removedPins);
      touchedRooms.add(s.room_id);
    }
    for (const [roomId, pins] of removedPins) await this.eraseExcerpts(roomId, new Set(pins));

    // the bytes of everything deleted: overwritten in the file (secure_delete) and out of the WAL
    this.d.queue.flushDurably();
    this.d.db.pragma('wal_checkpoint(TRUNCATE)');
    this.d.db.transaction(() => {
      this.d.retention.insertRun({
        at: this.d.clock.now(), horizon, segments_dropped: result.segmentsDropped, messages_erased: result.messagesErased,
        files_erased: result.filesErased, pins_removed: result.pinsRemoved,
      });
      this.d.audit({ actorId: null, action: 'retention.run', targetType: 'retention', details: { days: this.d.policy.days(), ...result } });
    })();
    for (const roomId of touchedRooms) {
      this.d.events.emit('room-changed', roomId);
      this.d.events.emit('head-changed', roomId);
    }
    if (result.messagesErased || result.segmentsDropped) this.d.log.info(result, 'retention erased expired messages');
    return result;
  }

  /** The SQL side of erasing messages: index rows, files, pins, and the erased marks. */
  private eraseRows(roomId: string, ids: string[], result: RetentionResult, removedPins: Map<string, string[]>): string[] {
    const fileIds = this.d.retention.filesOf(roomId, ids);
    const pinIds = this.d.retention.pinsOf(roomId, ids);
    this.d.db.transaction(() => {
      for (const id of ids) {
        const row = this.d.search.idOf(roomId, id);
        if (row !== undefined) this.d.search.delete(row);
      }
      this.d.files.removeInTx(fileIds);
      for (const pin of pinIds) this.d.pollsRepo.deletePin(pin);
      this.d.retention.markErased(roomId, ids, this.d.clock.now());
    })();
    this.d.files.removeBytes(fileIds);
    if (pinIds.length) removedPins.set(roomId, [...(removedPins.get(roomId) ?? []), ...pinIds]);
    result.messagesErased += ids.length;
    result.filesErased += fileIds.length;
    result.pinsRemoved += pinIds.length;
    return fileIds;
  }

  /** A boundary segment: delete the expired entries inside the document, then compact it at once. */
  private async prune(roomId: string, n: number, ids: string[], result: RetentionResult, removedPins: Map<string, string[]>): Promise<void> {
    if (!ids.length) return;
    const name = segmentName(roomId, n);
    const hp = this.d.hocuspocus();
    const conn = await hp.openDirectConnection(name, { server: 'retention' });
    try {
      const doc = conn.document!;
      const gone = new Set(ids);
      doc.transact(() => {
        const messages = doc.getMap<Message>(SEGMENT_MESSAGES);
        const receipts = doc.getMap(SEGMENT_RECEIPTS);
        const reactions = doc.getMap(SEGMENT_REACTIONS);
        for (const id of ids) {
          messages.delete(id);
          receipts.delete(id);
        }
        for (const key of [...reactions.keys()]) if (gone.has(key.slice(0, key.indexOf('|')))) reactions.delete(key);
      }, serverOrigin('retention'));
      // the snapshot without them replaces every update row that still carries their text
      await this.d.persistence.compact(doc, name, true);
    } finally {
      await conn.disconnect({ unloadImmediately: false });
    }
    this.eraseRows(roomId, ids, result, removedPins);
  }

  /** A segment with nothing left to keep: closed for everyone, its document and row deleted. */
  private async dropSegment(roomId: string, n: number, ids: string[], result: RetentionResult, removedPins: Map<string, string[]>): Promise<void> {
    const name = segmentName(roomId, n);
    const live = this.d.hocuspocus().documents.get(name);
    for (const c of live?.getConnections() ?? []) c.close({ code: ERRORS['not-found'].close, reason: 'not-found' });
    // appends still queued for it are dropped when they run (Storage.exists: the segment is gone)
    this.d.db.transaction(() => {
      this.d.retention.deleteSegment(roomId, n);
      this.d.documents.removeDoc(name);
    })();
    this.eraseRows(roomId, ids, result, removedPins);
    result.segmentsDropped++;
  }

  /** Pin and unpin lines of removed pins quote the erased text: their excerpts are emptied. */
  private async eraseExcerpts(roomId: string, pins: Set<string>): Promise<void> {
    const hp = this.d.hocuspocus();
    for (const s of this.d.rooms.segments(roomId)) {
      const name = segmentName(roomId, s.n);
      const conn = await hp.openDirectConnection(name, { server: 'retention' });
      try {
        const doc = conn.document!;
        const messages = doc.getMap<Message>(SEGMENT_MESSAGES);
        const lines = [...messages.values()].filter((m) => m.system && 'pinId' in m.system && pins.has(m.system.pinId) && m.system.excerpt !== '');
        if (!lines.length) continue;
        doc.transact(() => {
          for (const m of lines) messages.set(m.id, { ...m, system: { ...(m.system as { type: 'pinned' | 'unpinned'; pinId: string; excerpt: string }), excerpt: '' } });
        }, serverOrigin('retention'));
        await this.d.persistence.compact(doc, name, true);
      } finally {
        await conn.disconnect({ unloadImmediately: false });
      }
    }
  }
}
