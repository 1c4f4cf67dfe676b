/**
 * Profile photos. `POST /api/me/avatar` takes the raw bytes of one image (any type sharp decodes as
 * JPEG, PNG, WebP, GIF or AVIF, whatever the client claims), turns it into a 256×256 WebP (centre
 * crop, EXIF orientation applied, metadata dropped) and stores it as `uploads/avatars/<userId>.webp`;
 * the user's `avatar_at` is the version clients put in the URL. Anything else is refused before a
 * byte is stored: a body over the limit with `file-too-large`, bytes that are not such an image with
 * `not-an-image`. The photo is deleted with the account (`remove`).
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import sharp from 'sharp';
import type { UsersRepo } from '../repos/users.ts';
import type { Clock } from '../domain/deps.ts';
import { fail } from '../domain/errors.ts';
import type { FileStore } from './store.ts';

export const AVATAR_EDGE = 256;
/** A phone photo fits; the output is a few kilobytes whatever comes in. */
export const AVATAR_MAX_BYTES = 8 * 1024 * 1024;
const MAX_PIXELS = 40_000_000;
const FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif']);

export interface AvatarDeps {
  users: UsersRepo;
  store: FileStore;
  clock: Clock;
  maxBytes?: number;
}

export class AvatarService {
  constructor(private d: AvatarDeps) {}

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
    const meta = await Promise.resolve().then(() => sharp(input, { limitInputPixels: MAX_PIXELS }).metadata()).catch(() => null);
    if (!meta?.format || !FORMATS.has(meta.format)) fail('not-an-image');
    const out = await Promise.resolve()
      .then(() => sharp(input, { limitInputPixels: MAX_PIXELS }).rotate().resize({ width: AVATAR_EDGE, height: AVATAR_EDGE, fit: 'cover' }).webp({ quality: 82 }).toBuffer())
      .catch(() => fail('not-an-image'));
    // written whole, then renamed: a reader never sees half a photo
    const tmp = this.d.store.tmpPath();
    await fs.promises.writeFile(tmp, out);
    await fs.promises.rename(tmp, this.d.store.avatarPath(userId));
    const at = Math.max(this.d.clock.now(), (this.d.users.byId(userId)?.avatar_at ?? 0) + 1);
    this.d.users.setAvatar(userId, at);
    return at;
  }

  /** The photo's path, or `not-found` (no such user, or no photo). */
  path(userId: string): string {
    const u = this.d.users.byId(userId);
    if (!u?.avatar_at) fail('not-found');
    return this.d.store.avatarPath(userId);
  }

  async remove(userId: string): Promise<void> {
    await fs.promises.rm(this.d.store.avatarPath(userId), { force: true }).catch(() => {});
  }
}
