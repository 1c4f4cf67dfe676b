/**
 * The device forgets what the server's retention erased, without user action (docs/PROTOCOL.md,
 * "Retention: what clients forget"). Every room's tracker passes on what its synced head says (the
 * segments still listed, `retentionHorizon`); per room, one pass at a time, for each change:
 *
 * - a local copy of a dropped segment (`droppedSegments`): the user's own messages in it that the
 *   server never acknowledged are posted again through the outbox (same id and `createdAt`, so a
 *   second pass or a second tab cannot post them twice), then the database is deleted. A copy that
 *   is open in this tab is left to its `SyncedDoc`: it answers `not-found` when it (re)connects,
 *   which takes the same two steps.
 * - a remaining copy that holds messages received before the horizon: views hide them at once; the
 *   copy is opened online so that the server's erasure arrives as Yjs deletions, then compacted, so
 *   that the text leaves IndexedDB (offline it is tried again at the next change of the head). The
 *   oldest receipt of each copy is kept in localStorage, so that copies with nothing to erase are
 *   not read again at every horizon step.
 *
 * Lifecycle: created at sign-in with the collaboration client, `stop()` at sign-out.
 */
import type { CollabClient } from '$lib/collab/collab-client.svelte.ts';
import { SEGMENT_MESSAGES, SEGMENT_RECEIPTS, segmentName, type Message, type Receipt } from '$lib/protocol/schema';
import { droppedSegments, expiredIds, oldestReceipt, remainingSegments, rescuable, type HeadRetention } from './forget.ts';
import { readCopy, segmentCopies } from './idb-copies.ts';
import { retentionKey } from './keys.ts';
import { readJson, writeJson } from './storage.ts';
import { deleteDatabase } from './wipe.ts';
import type * as Y from 'yjs';

export interface RetentionKeeperDeps {
  userId: string;
  collab: CollabClient;
  /** Posts the user's unsent messages of dropped segment `n` again in the room's open segment. */
  repost(roomId: string, n: number, messages: Message[]): void;
  /** A segment is known to be gone (nothing is written into it any more). */
  gone(docName: string): void;
}

/** How long a remaining copy may take to sync before this pass gives up on it. */
const SYNC_WAIT_MS = 10_000;
/** A pass left something undone (a copy still open, offline): tried again after 5 s, 10 s … 60 s. */
const RETRY_MS = 5000;
const MAX_RETRY_MS = 60_000;

export class RetentionKeeper {
  private deps: RetentionKeeperDeps | null;
  /** Per room: the head state last handled completely. */
  private done = new Map<string, string>();
  private pending = new Map<string, HeadRetention>();
  private running = new Set<string>();
  private retries = new Map<string, { count: number; timer: ReturnType<typeof setTimeout> }>();
  /** Per segment document: the oldest receipt time its copy held when last read. */
  private oldest: Record<string, number>;

  constructor(deps: RetentionKeeperDeps) {
    this.deps = deps;
    this.oldest = readJson<Record<string, number>>(retentionKey(deps.userId)) ?? {};
  }

  stop(): void {
    this.deps = null;
    this.pending.clear();
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  /** A room's synced head changed: forget what it says is gone (once per distinct state). */
  observe(roomId: string, head: HeadRetention): void {
    if (!this.deps) return;
    const key = `${[...head.segments].sort((a, b) => a - b).join(',')}|${head.horizon}`;
    if (this.done.get(roomId) === key) return;
    this.pending.set(roomId, head);
    if (!this.running.has(roomId)) void this.drain(roomId);
  }

  private async drain(roomId: string): Promise<void> {
    this.running.add(roomId);
    try {
      for (let head = this.pending.get(roomId); head && this.deps; head = this.pending.get(roomId)) {
        this.pending.delete(roomId);
        const key = `${[...head.segments].sort((a, b) => a - b).join(',')}|${head.horizon}`;
        if (this.done.get(roomId) === key) continue;
        let complete = false;
        try {
          complete = await this.apply(roomId, head);
        } catch (e) {
          console.error(e);
        }
        if (complete) {
          this.done.set(roomId, key);
          const retry = this.retries.get(roomId);
          if (retry) clearTimeout(retry.timer);
          this.retries.delete(roomId);
        } else if (!this.pending.has(roomId)) {
          this.retryLater(roomId, head);
        }
      }
    } finally {
      this.running.delete(roomId);
    }
  }

  private retryLater(roomId: string, head: HeadRetention): void {
    const prev = this.retries.get(roomId);
    if (prev) clearTimeout(prev.timer);
    const count = (prev?.count ?? 0) + 1;
    const timer = setTimeout(() => {
      if (!this.deps || this.pending.has(roomId)) return;
      this.pending.set(roomId, head);
      if (!this.running.has(roomId)) void this.drain(roomId);
    }, Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (count - 1)));
    this.retries.set(roomId, { count, timer });
  }

  /** True when everything the head asks for is done (false: try again later). */
  private async apply(roomId: string, head: HeadRetention): Promise<boolean> {
    const deps = this.deps;
    if (!deps) return false;
    // nothing dropped, nothing erased: no need to look at the device's databases
    if (!head.horizon && Math.min(...head.segments) === 0) return true;
    const copies = (await segmentCopies(deps.userId)).filter((c) => c.roomId === roomId);
    const byN = new Map(copies.map((c) => [c.n, c]));
    let complete = true;

    for (const n of droppedSegments(byN.keys(), head)) {
      const copy = byN.get(n)!;
      deps.gone(copy.docName);
      if (deps.collab.isOpen(copy.docName)) {
        // its SyncedDoc answers not-found when it (re)connects and does the same; if it is closed
        // before that (the tracker follows the head), the next pass takes the copy
        complete = false;
        continue;
      }
      const doc = await readCopy(copy.dbName);
      if (doc) {
        try {
          const unsent = rescuable(doc.getMap<Message>(SEGMENT_MESSAGES).values(), doc.getMap(SEGMENT_RECEIPTS), deps.userId);
          if (unsent.length) deps.repost(roomId, n, unsent);
        } finally {
          doc.destroy();
        }
      }
      if (!(await deleteDatabase(copy.dbName))) complete = false;
      this.setOldest(copy.docName, null);
    }

    if (!head.horizon) return complete;
    for (const n of remainingSegments(byN.keys(), head)) {
      const name = segmentName(roomId, n);
      const known = this.oldest[name];
      if (known !== undefined && known >= head.horizon) continue;
      // open here: its own sync brings the deletions, and the SyncedDoc compacts after them
      if (deps.collab.isOpen(name) && deps.collab.liveDoc(name)) {
        const { expired, oldest } = inspect(deps.collab.liveDoc(name)!, head.horizon);
        if (expired === 0) this.setOldest(name, oldest);
        else complete = false; // not synced yet: look again later
        continue;
      }
      const doc = await readCopy(byN.get(n)!.dbName);
      if (!doc) continue;
      const { expired, oldest } = inspect(doc, head.horizon);
      doc.destroy();
      if (expired === 0) {
        this.setOldest(name, oldest);
        continue;
      }
      if (!deps.collab.online || !(await this.syncAndCompact(name))) complete = false;
    }
    return complete;
  }

  /** Opens the document until it has the server's state (the erasure), then compacts its copy. */
  private async syncAndCompact(name: string): Promise<boolean> {
    const collab = this.deps?.collab;
    if (!collab || collab.closed) return false;
    const ref = collab.acquire(name);
    try {
      await ref.whenLocal();
      const started = Date.now();
      while (!ref.synced && !ref.denied && collab.online && this.deps && Date.now() - started < SYNC_WAIT_MS) await new Promise((r) => setTimeout(r, 100));
      if (!ref.synced) return ref.denied !== null; // denied: the SyncedDoc deleted the copy itself
      const ok = await ref.compact();
      if (ok) this.setOldest(name, oldestReceipt(ref.doc.getMap<Receipt>(SEGMENT_RECEIPTS)));
      return ok;
    } finally {
      ref.release();
    }
  }

  private setOldest(name: string, at: number | null): void {
    if (at === null) delete this.oldest[name];
    else this.oldest[name] = at;
    if (this.deps) writeJson(retentionKey(this.deps.userId), this.oldest);
  }
}

function inspect(doc: Y.Doc, horizon: number): { expired: number; oldest: number | null } {
  const receipts = doc.getMap<Receipt>(SEGMENT_RECEIPTS);
  return { expired: expiredIds(doc.getMap<Message>(SEGMENT_MESSAGES).entries(), receipts, horizon).length, oldest: oldestReceipt(receipts) };
}
