/**
 * Files: upload, scan, one-time tokens, attachment to messages, download access, deletion and the
 * maintenance sweep. The rules:
 *
 * - An upload is bound to its uploader and room. Its bytes are downloadable only once clean (AV off:
 *   at once; AV on: after clamd said so) and then only by the uploader until a message carries it,
 *   after that by whoever may read the segment the message counts in (`access.document`).
 * - A clean, unattached upload has one token at a time (only its SHA-256 is stored). A message
 *   carrying an attachment is accepted by the document hooks only with that token, for that user,
 *   that room and that file, unexpired and unspent (`checkAttachment`). The validator also claims
 *   the file in memory until the update commits, and the commit spends the token with a conditional
 *   UPDATE (`attachInTx`): two connections or two segments cannot spend one token.
 * - Deleting a message (tombstone) or a file removes the bytes; the row stays as a tombstone so that
 *   old references answer 404. Uploads never attached are purged after `orphanTtlMs`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import PQueue from 'p-queue';
import sharp from 'sharp';
import { MAX_ATTACHMENTS, segmentName, SEGMENT_MESSAGES, type Attachment, type Message } from '../../src/lib/protocol/schema.ts';
import type { AccessPolicy } from '../auth/access.ts';
import type { Db } from '../db/database.ts';
import type { Clock, Ids } from '../domain/deps.ts';
import { DomainError, fail, type ErrorCode } from '../domain/errors.ts';
import type { PollService } from '../domain/polls.ts';
import type { FilesRepo, FileRow, JobState } from '../repos/files.ts';
import type { PollsRepo } from '../repos/polls.ts';
import { ClamdError, ClamdUnavailable, type Clamd } from './clamav.ts';
import { cleanFileName, receiveUpload } from './receive.ts';
import type { FileStore } from './store.ts';
import { extensionOf, FILE_TYPES, INLINE_IMAGE_TYPES } from './types.ts';

export interface UploadLimits {
  maxBytes: number;
  /** Allowed extensions (each a key of FILE_TYPES). */
  types: string[];
  tokenTtlMs: number;
}

export interface FileInfo {
  id: string;
  name: string;
  size: number;
  type: string;
  width?: number;
  height?: number;
  thumb: boolean;
}

export interface RoomFile extends FileInfo {
  uploader: string;
  messageId: string;
  segment: number;
  createdAt: number;
}

/** A server write into a document (the collaboration layer's WritePath.write). */
export type DocWriter = (name: string, fn: (doc: import('yjs').Doc) => void) => Promise<void>;

export interface FileDeps {
  db: Db;
  files: FilesRepo;
  pollsRepo: PollsRepo;
  polls: PollService;
  access: AccessPolicy;
  store: FileStore;
  clock: Clock;
  ids: Ids;
  log: Logger;
  limits: UploadLimits;
  clamd: Clamd | null;
  /** How long an upload may stay unattached before maintenance removes it. */
  orphanTtlMs: number;
  /** How often scans that failed (clamd down) are retried. */
  scanRetryMs: number;
  /** Retention: files of messages older than this (server time) are gone even before a run erased them. */
  horizon: () => number;
  /** The admin setting for scanning (only meaningful with a daemon configured). */
  avEnabled: () => boolean;
  /** Writes an audit entry inside the action's transaction. */
  audit: (e: import('../domain/audit.ts').AuditEntry) => void;
  /** A message changed by a server write (a file removed from it): the search index follows. */
  reindex: (roomId: string, message: Message) => void;
}

const THUMB_EDGE = 480;
/** Decompression bombs: images beyond this many pixels get no thumbnail (they stay downloadable). */
const MAX_PIXELS = 100_000_000;
const CLAIM_TTL_MS = 30_000;

const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest();

export function toFileInfo(r: FileRow): FileInfo {
  return {
    id: r.id, name: r.name, size: r.size, type: r.type,
    ...(r.width && r.height ? { width: r.width, height: r.height } : {}),
    thumb: r.thumb === 1,
  };
}

export class FileService {
  private limitsNow: UploadLimits;
  private scans = new PQueue({ concurrency: 2 });
  private scanning = new Set<string>();
  private retryTimer: NodeJS.Timeout | null = null;
  /** File ids claimed by a validated update until it commits (id → when). */
  private claims = new Map<string, number>();
  private writeDoc: DocWriter | null = null;
  private stopped = false;

  constructor(private d: FileDeps) {
    this.limitsNow = { ...d.limits, types: [...d.limits.types] };
  }

  // ---- limits (one source: published by GET /api/config) -----------------------------------------

  limits(): UploadLimits {
    return this.limitsNow;
  }

  /** Changes the limits at runtime (admin settings; tests). Unknown extensions are refused. */
  setLimits(next: Partial<Pick<UploadLimits, 'maxBytes' | 'types' | 'tokenTtlMs'>>): void {
    const types = next.types?.map((t) => t.toLowerCase().replace(/^\./, ''));
    const unknown = types?.filter((t) => !FILE_TYPES[t]);
    if (unknown?.length) fail('validation-failed', `Unknown file types: ${unknown.join(', ')}`);
    if (next.maxBytes !== undefined && (!Number.isSafeInteger(next.maxBytes) || next.maxBytes < 1)) fail('validation-failed', 'maxBytes must be a positive integer.');
    this.limitsNow = { ...this.limitsNow, ...next, ...(types ? { types } : {}) };
  }

  publicConfig() {
    const l = this.limitsNow;
    const types = Object.fromEntries(l.types.map((ext) => [ext, FILE_TYPES[ext].mime]));
    return {
      enabled: true,
      maxBytes: l.maxBytes,
      types,
      accept: l.types.map((e) => `.${e}`).join(','),
      av: this.avOn(),
      tokenTtlSec: Math.floor(l.tokenTtlMs / 1000),
      maxAttachments: MAX_ATTACHMENTS,
    };
  }

  /** A ping of the configured daemon (null without one). */
  clamdPing(): (() => Promise<boolean>) | null {
    return this.d.clamd ? () => this.d.clamd!.ping() : null;
  }

  /** Whether new uploads are scanned: a daemon is configured and the admin setting is on. */
  avOn(): boolean {
    return this.d.clamd !== null && this.d.avEnabled();
  }

  /** The collaboration layer's server write, for removing attachments from messages. */
  connect(writeDoc: DocWriter): void {
    this.writeDoc = writeDoc;
  }

  // ---- upload ---------------------------------------------------------------------------------------

  async upload(req: IncomingMessage, userId: string): Promise<{ file: FileInfo; token: string | null; job: { id: string; state: JobState } }> {
    const limits = this.limitsNow;
    const got = await receiveUpload(req, {
      maxBytes: limits.maxBytes,
      tmpPath: () => this.d.store.tmpPath(),
      checkRoom: (roomId) => void this.d.access.membership(userId, roomId),
      checkName: (raw) => {
        const name = cleanFileName(raw);
        const ext = extensionOf(name);
        if (!name || !ext || !limits.types.includes(ext) || !FILE_TYPES[ext]) fail('file-type-not-allowed');
        return { name, ext };
      },
      checkHead: (ext, head) => {
        if (!FILE_TYPES[ext].check(head)) fail('file-content-mismatch');
      },
    });
    const id = this.d.ids.next();
    const type = FILE_TYPES[got.ext].mime;
    const av = this.avOn();
    try {
      // the member may have been removed while the bytes streamed in
      this.d.access.membership(userId, got.roomId);
      await fs.promises.rename(got.tmpPath, av ? this.d.store.quarantinePath(id) : this.d.store.filePath(id));
    } catch (e) {
      await fs.promises.rm(got.tmpPath, { force: true });
      throw e;
    }
    this.d.files.insert({
      id, room_id: got.roomId, uploader: userId, name: got.name, size: got.size, type, ext: got.ext,
      width: null, height: null, thumb: 0, state: av ? 'queued' : 'clean', created_at: this.d.clock.now(),
    });
    if (av) {
      this.enqueueScan(id);
      return { file: toFileInfo(this.d.files.get(id)!), token: null, job: { id, state: 'queued' } };
    }
    await this.makeThumbnail(id);
    return { file: toFileInfo(this.d.files.get(id)!), token: this.issueToken(id), job: { id, state: 'clean' } };
  }

  /** A fresh token for a clean, unattached file (the previous one stops working). */
  private issueToken(id: string): string | null {
    const token = crypto.randomBytes(24).toString('base64url');
    const ok = this.d.files.setToken(id, hashToken(token), this.d.clock.now() + this.limitsNow.tokenTtlMs);
    return ok ? token : null;
  }

  /** The scan state of one upload, for its uploader only; a clean unattached file gets a fresh token. */
  job(userId: string, id: string) {
    const row = this.d.files.get(id);
    if (!row || row.uploader !== userId || row.deleted_at !== null) fail('not-found');
    const token = row!.state === 'clean' && row!.message_id === null ? this.issueToken(id) : null;
    return {
      job: { id, state: row!.state, ...(row!.reason ? { reason: row!.reason } : {}) },
      file: toFileInfo(row!),
      token,
      attached: row!.message_id !== null,
    };
  }

  private async makeThumbnail(id: string): Promise<void> {
    const row = this.d.files.get(id);
    if (!row || !INLINE_IMAGE_TYPES.has(row.type)) return;
    const src = this.d.store.filePath(id);
    try {
      const meta = await sharp(src, { limitInputPixels: MAX_PIXELS }).metadata();
      // the size as shown: EXIF orientation 5-8 swaps width and height
      const swap = (meta.orientation ?? 1) >= 5;
      const width = (swap ? meta.height : meta.width) ?? null;
      const height = (swap ? meta.width : meta.height) ?? null;
      await sharp(src, { limitInputPixels: MAX_PIXELS })
        .rotate()
        .resize({ width: THUMB_EDGE, height: THUMB_EDGE, fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 78 })
        .toFile(this.d.store.thumbPath(id));
      this.d.files.setImage(id, width, height, true);
    } catch (err) {
      // a corrupt or oversized image is still a file: downloadable, shown without a preview
      this.d.log.warn({ err: (err as Error).message, fileId: id }, 'no thumbnail for image');
    }
  }

  // ---- antivirus (AV_SCAN=clamav) ---------------------------------------------------------------------

  /** Resumes the quarantine queue (after a restart) and retries failed scans periodically. */
  start(): void {
    if (!this.d.clamd) return;
    for (const row of this.d.files.jobs()) this.enqueueScan(row.id);
    this.retryTimer = setInterval(() => void this.retryFailedScans(), this.d.scanRetryMs);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.scans.clear();
    await this.scans.onIdle();
  }

  /** Waits until no scan is queued or running (tests, shutdown). */
  scansIdle(): Promise<void> {
    return this.scans.onIdle();
  }

  async retryFailedScans(): Promise<void> {
    if (!this.d.clamd || this.stopped) return;
    const failed = this.d.files.jobs().filter((r) => r.state === 'error');
    if (!failed.length || !(await this.d.clamd.ping())) return;
    for (const row of failed) this.enqueueScan(row.id);
  }

  private enqueueScan(id: string): void {
    if (this.scanning.has(id) || this.stopped) return;
    this.scanning.add(id);
    void this.scans.add(() => this.scan(id)).finally(() => this.scanning.delete(id));
  }

  private async scan(id: string): Promise<void> {
    const clamd = this.d.clamd!;
    const row = this.d.files.get(id);
    if (!row || row.deleted_at !== null || row.state === 'clean' || row.state === 'rejected') return;
    this.d.files.setState(id, 'scanning');
    const path = this.d.store.quarantinePath(id);
    try {
      const verdict = await clamd.scanFile(path);
      if (verdict.clean) {
        await fs.promises.rename(path, this.d.store.filePath(id));
        await this.makeThumbnail(id);
        this.d.files.setState(id, 'clean');
      } else {
        await this.d.store.removeAll(id);
        this.d.files.setState(id, 'rejected', `infected: ${verdict.signature}`);
        this.d.log.warn({ fileId: id, uploader: row.uploader, signature: verdict.signature }, 'upload rejected by antivirus');
      }
    } catch (err) {
      // clamd down, or it could not scan this file: the file stays in quarantine, never clean
      const reason = err instanceof ClamdUnavailable ? 'scanner-unavailable' : err instanceof ClamdError ? `scanner-error: ${err.message}` : 'scan-failed';
      this.d.files.setState(id, 'error', reason);
      if (!(err instanceof ClamdUnavailable) && !(err instanceof ClamdError)) this.d.log.error({ err, fileId: id }, 'scan failed');
    }
  }

  // ---- attachments in messages (called by the document hooks) ----------------------------------------

  /** The validator's check of one attachment of a new message; a refusal code or null. */
  checkAttachment(userId: string, roomId: string, a: Attachment): ErrorCode | null {
    const row = this.d.files.get(a.id);
    if (!row || row.deleted_at !== null || row.room_id !== roomId || row.uploader !== userId) return 'upload-token-invalid';
    if (row.state !== 'clean') return 'file-not-ready';
    if (row.message_id !== null) return 'upload-token-used';
    const claimed = this.claims.get(a.id);
    if (claimed !== undefined && this.d.clock.now() - claimed < CLAIM_TTL_MS) return 'upload-token-used';
    if (!row.token_hash || !crypto.timingSafeEqual(hashToken(a.token), row.token_hash)) return 'upload-token-invalid';
    if (this.d.clock.now() > (row.token_expires_at ?? 0)) return 'upload-token-expired';
    const info = toFileInfo(row);
    if (a.name !== info.name || a.size !== info.size || a.type !== info.type || a.width !== info.width || a.height !== info.height) return 'attachment-mismatch';
    return null;
  }

  claim(fileIds: string[]): void {
    const now = this.d.clock.now();
    for (const id of fileIds) this.claims.set(id, now);
  }

  release(fileIds: string[]): void {
    for (const id of fileIds) this.claims.delete(id);
  }

  /** In the commit of the accepted update: spends the tokens. Throws when one was spent meanwhile. */
  attachInTx(roomId: string, userId: string, messageId: string, segment: number, fileIds: string[]): void {
    const now = this.d.clock.now();
    fileIds.forEach((id, position) => {
      if (!this.d.files.attach(id, roomId, userId, messageId, segment, now, position)) throw new DomainError('upload-token-used');
    });
  }

  /** In the commit of an accepted update that deleted messages: their files are gone. */
  removeInTx(fileIds: string[]): void {
    const now = this.d.clock.now();
    for (const id of fileIds) this.d.files.markDeleted(id, now);
  }

  /** After that commit: the bytes. */
  removeBytes(fileIds: string[]): void {
    for (const id of fileIds) {
      this.d.store.removeAll(id).catch((err) => this.d.log.error({ err, fileId: id }, 'could not remove file bytes'));
    }
  }

  // ---- reading ---------------------------------------------------------------------------------------

  /** The row of a file the user may download, or `not-found` (the same answer for "exists, not yours"). */
  readable(userId: string, id: string): FileRow {
    const row = this.d.files.get(id);
    if (!row || row.deleted_at !== null || row.state !== 'clean') return fail('not-found');
    if (row.message_id === null || row.segment === null) {
      if (row.uploader !== userId) fail('not-found');
      this.d.access.membership(userId, row.room_id);
      return row;
    }
    this.d.access.document(userId, segmentName(row.room_id, row.segment));
    if (row.attached_at !== null && row.attached_at < this.d.horizon()) fail('not-found');
    return row;
  }

  roomFiles(userId: string, roomId: string, q: { kind: 'image' | 'document' | null; limit: number; before: string | null }): { files: RoomFile[]; next: string | null } {
    const segments = this.d.access.readableSegments(userId, roomId);
    let before: { at: number; position: number; id: string } | null = null;
    if (q.before) {
      const [at, position, id] = Buffer.from(q.before, 'base64url').toString('utf8').split(':');
      if (!/^\d+$/.test(at ?? '') || !/^\d+$/.test(position ?? '') || !id) fail('validation-failed', 'before: not a cursor from this API.');
      before = { at: Number(at), position: Number(position), id };
    }
    const rows = this.d.files.room({ room: roomId, images: q.kind === null ? null : q.kind === 'image', before, segments, limit: q.limit + 1, horizon: this.d.horizon() });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      files: page.map((r) => ({ ...toFileInfo(r), uploader: r.uploader, messageId: r.message_id!, segment: r.segment!, createdAt: r.attached_at! })),
      next: rows.length > q.limit && last ? Buffer.from(`${last.attached_at}:${last.position}:${last.id}`).toString('base64url') : null,
    };
  }

  // ---- deleting ----------------------------------------------------------------------------------------

  /**
   * The uploader or a room admin deletes a file: it leaves its message (a message left with no text
   * and no file becomes a tombstone), pins of that message go, and the bytes are removed.
   */
  async delete(userId: string, id: string): Promise<void> {
    const row = this.d.files.get(id);
    if (!row || row.deleted_at !== null) return fail('not-found');
    this.d.access.membership(userId, row.room_id);
    if (row.message_id !== null && row.segment !== null) this.d.access.document(userId, segmentName(row.room_id, row.segment));
    else if (row.uploader !== userId) fail('not-found');
    if (row.uploader !== userId && !this.d.access.moderates(userId, row.room_id)) fail('forbidden', 'Only the uploader or a room admin may delete a file.');
    this.d.db.transaction(() => {
      this.d.files.markDeleted(id, this.d.clock.now());
      if (row.uploader !== userId) this.d.audit({ actorId: userId, action: 'file.delete', targetType: 'file', targetId: id, roomId: row.room_id, details: { uploader: row.uploader, name: row.name } });
    })();
    if (row.message_id !== null && row.segment !== null) {
      const messageId = row.message_id;
      for (const pin of this.d.pollsRepo.pinsOfRoom(row.room_id)) {
        if (pin.message_id === messageId) this.d.polls.unpin(userId, row.room_id, pin.id);
      }
      let changed: Message | null = null;
      await this.writeDoc?.(segmentName(row.room_id, row.segment), (doc) => {
        const messages = doc.getMap<Message>(SEGMENT_MESSAGES);
        const m = messages.get(messageId);
        if (!m || m.deleted || !m.attachments) return;
        const rest = m.attachments.filter((a) => a.id !== id);
        if (rest.length === m.attachments.length) return;
        const { attachments: _gone, ...base } = m;
        changed = rest.length ? { ...base, attachments: rest } : m.text.trim() ? base : { ...base, text: '', deleted: true };
        messages.set(messageId, changed);
      });
      // its file names were searchable: the index forgets the one removed (or the whole message)
      if (changed) this.d.db.transaction(() => this.d.reindex(row.room_id, changed!))();
    }
    await this.d.store.removeAll(id);
  }

  // ---- maintenance -----------------------------------------------------------------------------------

  /**
   * Removes uploads never attached within `orphanTtlMs`, bytes whose row is gone (a removed room),
   * and temp files of uploads that died half-way. Returns what it removed.
   */
  async purge(): Promise<{ orphans: number; strays: number }> {
    const now = this.d.clock.now();
    let orphans = 0;
    for (const row of this.d.files.orphans(now - this.d.orphanTtlMs)) {
      if (this.scanning.has(row.id)) continue;
      await this.d.store.removeAll(row.id);
      this.d.files.remove(row.id);
      orphans++;
    }
    let strays = 0;
    const grace = now - 60 * 60 * 1000;
    for (const name of await this.d.store.olderThan(this.d.store.tmpDir, grace)) {
      await fs.promises.rm(`${this.d.store.tmpDir}/${name}`, { force: true });
      strays++;
    }
    for (const dir of [this.d.store.filesDir, this.d.store.quarantineDir, this.d.store.thumbsDir]) {
      for (const name of await this.d.store.olderThan(dir, grace)) {
        const id = name.replace(/\.webp$/, '');
        const row = this.d.files.get(id);
        if (row && row.deleted_at === null) continue;
        await fs.promises.rm(`${dir}/${name}`, { force: true });
        strays++;
      }
    }
    return { orphans, strays };
  }
}
