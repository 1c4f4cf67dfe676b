/**
 * Profile photos. `POST /api/me/avatar` takes the raw bytes of one image (any type sharp decodes as
 * JPEG, PNG, WebP, GIF or AVIF, whatever the client claims), turns it into a 256×256 WebP (centre
 * crop, EXIF orientation applied, metadata dropped) and stores it as `uploads/avatars/<userId>.webp`;
 * the user's `avatar_at` is the version clients put in the URL. Anything else is refused before a
 * byte is stored: a body over the limit with `file-too-large`, bytes that are not such an image with
 * `not-an-image`, an image declaring more than `MAX_PIXELS` pixels (a decompression bomb: a few bytes
 * of PNG can claim 50000×50000) with `file-too-large`, from its header alone, before any pixel is
 * decoded. `DELETE /api/me/avatar` clears it (`clear`); the photo is deleted with the account
 * (`remove`). Setting and clearing are audited (`profile.avatar-set`, `profile.avatar-remove`: a
 * photo is what every member sees, so an admin can tell who showed what, when) and reach every
 * member live: the user's rooms are re-mirrored (head members, peers' room lists) like a name change.
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import sharp from 'sharp';
import type { UsersRepo } from '../repos/users.ts';
import type { Clock, EventBus } from '../domain/deps.ts';
import type { AuditEntry } from '../domain/audit.ts';
import type { Db } from '../db/database.ts';
import { fail } from '../domain/errors.ts';
import type { FileStore } from './store.ts';

export const AVATAR_EDGE = 256;
/** A phone photo fits; the output is a few kilobytes whatever comes in. */
export const AVATAR_MAX_BYTES = 8 * 1024 * 1024;
/** 40 megapixels: a phone camera's full-size photo passes, a pixel bomb does not. */
export const AVATAR_MAX_PIXELS = 40_000_000;
const MAX_PIXELS = AVATAR_MAX_PIXELS;
const FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif']);

/** sharp's (libvips') refusal of an image over `limitInputPixels`: "Input image exceeds pixel limit". */
const overPixelLimit = (err: unknown) => err instanceof Error && /pixel limit/i.test(err.message);

export interface AvatarDeps {
  db: Db;
  users: UsersRepo;
  store: FileStore;
  clock: Clock;
  audit: (e: AuditEntry) => void;
  events: EventBus;
  /** The rooms the user is in: their heads and members' room lists carry the photo's version. */
  roomIdsOf: (userId: string) => string[];
  /** Drops the user's cached row from the session cache (it carries `avatar_at`). */
  forgetUser: (userId: string) => void;
  maxBytes?: number;
}

export class AvatarService {
  constructor(private d: AvatarDeps) {}

  /** One store or removal at a time per user, so a removal cannot delete the file of a newer photo. */
  private busy = new Map<string, Promise<unknown>>();
  private exclusive<T>(userId: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.busy.get(userId) ?? Promise.resolve()).catch(() => {}).then(fn);
    this.busy.set(userId, run);
    const done = () => this.busy.get(userId) === run && this.busy.delete(userId);
    run.then(done, done);
    return run;
  }

  /** Reads the body (refusing more than the limit as soon as it is passed), converts and stores it. */
  async set(userId: string, body: IncomingMessage): Promise<number> {
    const max = this.d.maxBytes ?? AVATAR_MAX_BYTES;
    if (Number(body.headers['content-length'] ?? 0) > max) fail('file-too-large');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) fail('file-too-large');
      chunks.push(chunk);
    }
    const input = Buffer.concat(chunks);
    // sharp throws synchronously on an empty buffer: no body is not an image either
    if (input.length === 0) fail('not-an-image');
    // sharp refuses a header over limitInputPixels already here: that is a too large image, not a broken one
    const meta = await Promise.resolve()
      .then(() => sharp(input, { limitInputPixels: MAX_PIXELS }).metadata())
      .catch((err: unknown) => (overPixelLimit(err) ? fail('file-too-large') : null));
    if (!meta?.format || !FORMATS.has(meta.format)) return fail('not-an-image');
    // the header's claim (of the first frame, the one used), checked before decoding; limitInputPixels below is the second guard
    if (!meta.width || !meta.height) fail('not-an-image');
    if (meta.width * meta.height > MAX_PIXELS) fail('file-too-large');
    const out = await Promise.resolve()
      .then(() => sharp(input, { limitInputPixels: MAX_PIXELS }).rotate().resize({ width: AVATAR_EDGE, height: AVATAR_EDGE, fit: 'cover' }).webp({ quality: 82 }).toBuffer())
      .catch((err: unknown) => fail(overPixelLimit(err) ? 'file-too-large' : 'not-an-image'));
    return this.exclusive(userId, async () => {
      // written whole, then renamed: a reader never sees half a photo
      const tmp = this.d.store.tmpPath();
      await fs.promises.writeFile(tmp, out);
      await fs.promises.rename(tmp, this.d.store.avatarPath(userId));
      const at = Math.max(this.d.clock.now(), (this.d.users.byId(userId)?.avatar_at ?? 0) + 1);
      this.d.db.transaction(() => {
        this.d.users.setAvatar(userId, at);
        this.d.audit({ actorId: userId, action: 'profile.avatar-set', targetType: 'user', targetId: userId, details: { avatarAt: at } });
      })();
      this.changed(userId);
      return at;
    });
  }

  /** `DELETE /api/me/avatar`: back to initials everywhere. Idempotent: without a photo nothing happens. */
  clear(userId: string): Promise<void> {
    return this.exclusive(userId, async () => {
      const had = this.d.db.transaction(() => {
        const u = this.d.users.byId(userId);
        if (!u?.avatar_at) return false;
        this.d.users.setAvatar(userId, null);
        this.d.audit({ actorId: userId, action: 'profile.avatar-remove', targetType: 'user', targetId: userId, details: { avatarAt: u.avatar_at } });
        return true;
      })();
      if (!had) return;
      this.changed(userId);
      await this.remove(userId);
    });
  }

  /** Like a name change: the user's own profile, every head they are in, every member's room list. */
  private changed(userId: string): void {
    this.d.forgetUser(userId);
    this.d.events.emit('user-changed', userId);
    for (const roomId of this.d.roomIdsOf(userId)) this.d.events.emit('room-changed', roomId);
  }

  /** The photo's path, or `not-found` (no such user, or no photo). */
  path(userId: string): string {
    const u = this.d.users.byId(userId);
    if (!u?.avatar_at) fail('not-found');
    return this.d.store.avatarPath(userId);
  }

  /** Deletes the file only (the account is gone, or `clear` has already cleared the version). */
  async remove(userId: string): Promise<void> {
    await fs.promises.rm(this.d.store.avatarPath(userId), { force: true }).catch(() => {});
  }
}
