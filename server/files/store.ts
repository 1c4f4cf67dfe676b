/**
 * Where file bytes live under `DATA_DIR/uploads`: `tmp/` while an upload streams in, `quarantine/`
 * until the antivirus scan says clean, `files/` after, `thumbs/` for image thumbnails. Every name
 * on disk is a server-chosen id checked against a strict pattern, so a client's file name never
 * reaches a path and traversal cannot happen.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SAFE_ID = /^[A-Za-z0-9_-]{8,64}$/;

export class FileStore {
  readonly root: string;
  readonly tmpDir: string;
  readonly quarantineDir: string;
  readonly filesDir: string;
  readonly thumbsDir: string;
  /** Profile photos: one 256 px WebP per user, named by the user id. */
  readonly avatarsDir: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'uploads');
    this.tmpDir = path.join(this.root, 'tmp');
    this.quarantineDir = path.join(this.root, 'quarantine');
    this.filesDir = path.join(this.root, 'files');
    this.thumbsDir = path.join(this.root, 'thumbs');
    this.avatarsDir = path.join(this.root, 'avatars');
    for (const d of [this.tmpDir, this.quarantineDir, this.filesDir, this.thumbsDir, this.avatarsDir]) fs.mkdirSync(d, { recursive: true });
  }

  private safe(id: string): string {
    if (!SAFE_ID.test(id)) throw new Error(`unsafe file id ${JSON.stringify(id)}`);
    return id;
  }

  tmpPath(): string {
    return path.join(this.tmpDir, crypto.randomBytes(12).toString('base64url'));
  }
  quarantinePath(id: string): string {
    return path.join(this.quarantineDir, this.safe(id));
  }
  filePath(id: string): string {
    return path.join(this.filesDir, this.safe(id));
  }
  thumbPath(id: string): string {
    return path.join(this.thumbsDir, `${this.safe(id)}.webp`);
  }

  avatarPath(userId: string): string {
    return path.join(this.avatarsDir, `${this.safe(userId)}.webp`);
  }

  /** Removes every copy of a file's bytes (quarantine, files, thumbnail); missing ones are fine. */
  async removeAll(id: string): Promise<void> {
    await Promise.all([this.quarantinePath(id), this.filePath(id), this.thumbPath(id)].map((p) => fs.promises.rm(p, { force: true })));
  }

  /**
   * Names in a directory older than `before` (ms): what the maintenance sweep checks against the
   * database (bytes whose row is gone, temp files of uploads that died half-way).
   */
  async olderThan(dir: string, before: number): Promise<string[]> {
    const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const name of names) {
      const st = await fs.promises.stat(path.join(dir, name)).catch(() => null);
      if (st && st.mtimeMs < before) out.push(name);
    }
    return out;
  }

  /** Bytes used under `uploads/` (for health and the admin figures). */
  async usedBytes(): Promise<number> {
    let total = 0;
    for (const dir of [this.tmpDir, this.quarantineDir, this.filesDir, this.thumbsDir]) {
      for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
        const st = await fs.promises.stat(path.join(dir, name)).catch(() => null);
        if (st) total += st.size;
      }
    }
    return total;
  }
}
