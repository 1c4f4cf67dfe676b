/**
 * Storage: documents load from SQLite, every update this process accepts or writes is committed
 * with the group-commit queue, and documents are compacted in the background.
 *
 * - onLoadDocument fires once per instance while it loads: snapshot + tail. Never throws
 *   (Hocuspocus #1156: a throw leaks a document and a timer); access was decided at authentication.
 * - afterLoadDocument fires when the instance is ready: appending starts (before any client update
 *   can be applied), server-owned documents are rewritten from SQLite, and a segment's messages
 *   without a receipt (a crash between commit and receipt) get theirs.
 * - onStoreDocument fires debounced after changes and when the last connection leaves: compaction.
 */
import type { Extension, afterLoadDocumentPayload, onLoadDocumentPayload, onStoreDocumentPayload } from '@hocuspocus/server';
import type * as Y from 'yjs';
import { parseDocName, SEGMENT_MESSAGES, SEGMENT_RECEIPTS, type Message, type Receipt } from '../../../src/lib/protocol/schema.ts';
import type { RoomService } from '../../domain/rooms.ts';
import type { PollService } from '../../domain/polls.ts';
import type { RoomsRepo } from '../../repos/rooms.ts';
import type { UsersRepo } from '../../repos/users.ts';
import type { DocumentPersistence } from '../persistence.ts';
import type { WritePath } from '../write-path.ts';
import { connectionOf, isServerOrigin } from '../origins.ts';
import { writeHead } from '../head-mirror.ts';
import { writeUserDoc } from '../user-mirror.ts';
import type { CollabContext } from '../context.ts';

export interface StorageConfig {
  persistence: DocumentPersistence;
  writes: WritePath;
  rooms: RoomsRepo;
  users: UsersRepo;
  roomService: RoomService;
  polls: PollService;
  /** What head documents publish about retention (days, and the horizon of the last run). */
  headRetention: () => { days: number; horizon: number };
  /** Told of every loaded instance (the validator's version counter). */
  loaded: (doc: Y.Doc) => void;
}

export class Storage implements Extension {
  extensionName = 'storage';
  priority = 800;
  private loadedIds = new WeakMap<Y.Doc, number[]>();

  constructor(private configuration: StorageConfig) {}

  /** Whether the document's room (or user) still exists: a removed room's documents are not stored. */
  exists(name: string): boolean {
    const parsed = parseDocName(name);
    if (parsed?.kind === 'user') return !!this.configuration.users.byId(parsed.userId);
    if (parsed?.kind === 'presence') return true;
    if (parsed?.kind === 'segment') return !!this.configuration.rooms.segment(parsed.roomId, parsed.n); // dropped by retention: gone
    return !!parsed && !!this.configuration.rooms.byId(parsed.roomId);
  }

  async onLoadDocument({ document, documentName }: onLoadDocumentPayload<CollabContext>): Promise<Uint8Array | undefined> {
    const loaded = this.configuration.persistence.load(documentName);
    this.loadedIds.set(document, loaded?.ids ?? []);
    return loaded?.update;
  }

  async afterLoadDocument({ document, documentName }: afterLoadDocumentPayload<CollabContext>): Promise<void> {
    const c = this.configuration;
    c.loaded(document);
    c.persistence.track(document, documentName, this.loadedIds.get(document) ?? [], {
      stores: (origin) => !!connectionOf(origin) || isServerOrigin(origin),
      exists: () => this.exists(documentName),
      extra: (origin) => {
        const conn = connectionOf(origin);
        if (conn) {
          const p = c.writes.pending.get(conn);
          if (!p) return null;
          c.writes.pending.delete(conn);
          c.writes.lastApplied.set(conn, p);
          return c.writes.acceptedUpdate(document, p);
        }
        return c.writes.serverWrite(document);
      },
    });
    const parsed = parseDocName(documentName);
    if (parsed?.kind === 'head') writeHead(document, c.rooms, c.polls, parsed.roomId, c.headRetention());
    if (parsed?.kind === 'user') writeUserDoc(document, c.roomService, c.users, parsed.userId);
    if (parsed?.kind === 'segment' && c.roomService.segment(parsed.roomId, parsed.n)) {
      const messages = document.getMap<Message>(SEGMENT_MESSAGES);
      const receipts = document.getMap<Receipt>(SEGMENT_RECEIPTS);
      const missing = [...messages.values()].filter((m) => !receipts.has(m.id)).sort((a, b) => a.createdAt - b.createdAt);
      await c.writes.settle(document, parsed.roomId, parsed.n, missing.map((m) => ({ id: m.id, author: m.author, bytes: JSON.stringify(m).length })));
    }
  }

  async onStoreDocument({ document, documentName }: onStoreDocumentPayload<CollabContext>): Promise<void> {
    if (this.exists(documentName)) await this.configuration.persistence.compact(document, documentName, document.getConnectionsCount() === 0);
  }
}
