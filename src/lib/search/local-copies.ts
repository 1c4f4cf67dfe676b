/**
 * The messages this device holds, for the offline search: every segment copy of the user's rooms
 * (the live document where a view or tracker has it open, else its IndexedDB copy, read without
 * opening a provider) and the posts still in the outbox. Copies that no one has open change only
 * when they are opened, so what was read from them is kept for a short while: typing a query does
 * not parse the same segments at every keystroke.
 */
import type { CollabClient } from '$lib/collab/collab-client.svelte.ts';
import { readCopy, segmentCopies } from '$lib/local/idb-copies.ts';
import { SEGMENT_MESSAGES, SEGMENT_RECEIPTS, segmentName, type Message, type Receipt } from '$lib/protocol/schema';
import type * as Y from 'yjs';
import type { LocalEntry } from './results.ts';

export interface LocalSourceDeps {
  userId: string;
  collab: CollabClient;
  /** The user's rooms now (messages of any other room are never searched). */
  roomIds(): string[];
  /** Posts of a room not yet written into a document. */
  queued(roomId: string): Message[];
  /** The room's open segment as far as the device knows (where queued posts will go). */
  openSegment(roomId: string): number;
}

/** How long what was read from a closed copy is reused. */
const CACHE_MS = 60_000;

function entriesOf(roomId: string, n: number, doc: Y.Doc): LocalEntry[] {
  const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
  const out: LocalEntry[] = [];
  for (const [id, message] of doc.getMap<Message>(SEGMENT_MESSAGES).entries()) {
    if (message.deleted || message.system) continue;
    out.push({ roomId, segment: n, message, receipt: receipts.get(id) ?? null });
  }
  return out;
}

export class LocalMessages {
  private cache = new Map<string, { at: number; entries: LocalEntry[] }>();

  constructor(private deps: LocalSourceDeps) {}

  async entries(): Promise<LocalEntry[]> {
    const { collab, userId } = this.deps;
    const rooms = new Set(this.deps.roomIds());
    const out: LocalEntry[] = [];
    const seen = new Set<string>();
    const now = Date.now();
    const copies = (await segmentCopies(userId)).filter((c) => rooms.has(c.roomId));
    for (const c of copies) {
      seen.add(c.docName);
      const live = collab.liveDoc(c.docName);
      if (live) {
        out.push(...entriesOf(c.roomId, c.n, live));
        continue;
      }
      const cached = this.cache.get(c.dbName);
      if (cached && now - cached.at < CACHE_MS) {
        out.push(...cached.entries);
        continue;
      }
      const doc = await readCopy(c.dbName);
      if (!doc) continue;
      try {
        const entries = entriesOf(c.roomId, c.n, doc);
        this.cache.set(c.dbName, { at: now, entries });
        out.push(...entries);
      } finally {
        doc.destroy();
      }
    }
    for (const roomId of rooms) {
      // where databases cannot be listed, the open documents still count
      const open = this.deps.openSegment(roomId);
      const name = segmentName(roomId, open);
      const live = seen.has(name) ? null : collab.liveDoc(name);
      if (live) out.push(...entriesOf(roomId, open, live));
      for (const message of this.deps.queued(roomId)) out.push({ roomId, segment: open, message, receipt: null });
    }
    return out;
  }
}
