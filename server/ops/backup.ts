/**
 * Backup, verification and restore of a data directory, and the data-directory lock. Shared by the
 * server (scheduled backups, the lock) and `npm run backup` / `verify-backup` / `restore`.
 *
 * A backup is a directory:
 *   messenger.db           SQLite online-backup copy (a consistent snapshot; rollback-journal mode)
 *   uploads/files|thumbs|quarantine/…   copies of the upload bytes (not `tmp/`)
 *   manifest.json          format, app version, time, source, migration ids, counts, and the size
 *                          and SHA-256 of every other file
 * It is built under a hidden `.<name>.partial-<pid>-…` directory and renamed at the end, so a
 * directory with the final name and a manifest is always complete.
 *
 * Consistency: the database is copied first (one snapshot), then the uploads. A file uploaded
 * meanwhile is copied without a row (a stray the maintenance sweep removes after a restore); a file
 * deleted meanwhile has a row but no bytes (verify warns; downloads answer 404 as for any removed
 * file). Every acknowledged message is in the database snapshot.
 *
 * The lock: `DATA_DIR/server.lock` (JSON: pid, port, start) is written by a server at start and
 * removed when it closes. A SIGKILLed server leaves it behind; it counts only while its pid is alive
 * (and, on Linux, is the same process: the start time in /proc must match, so a reused pid does not).
 */
import Database from 'better-sqlite3';
import crypto from 'node:crypto';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as Y from 'yjs';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations.ts';

export const DB_FILE = 'messenger.db';
export const MANIFEST_FILE = 'manifest.json';
export const LOCK_FILE = 'server.lock';
export const LAST_FILE = 'last.json';
/** Upload directories a backup carries (`tmp/` holds uploads in progress only). */
export const UPLOAD_DIRS = ['files', 'thumbs', 'quarantine'] as const;
/** What a restore replaces in the data directory (everything else there is left alone). */
const DATA_ENTRIES = [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, `${DB_FILE}-journal`, 'uploads', LOCK_FILE];
const FORMAT = 'intranet-messenger-backup';
const FORMAT_VERSION = 1;
/** Scheduled backups are named `messenger-<ISO time with - for : and .>`: sorting by name sorts by time. */
const SCHEDULED = /^messenger-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z(-\d+)?$/;
const PARTIAL = /^\..+\.partial-(\d+)-[a-z0-9]+$/;

export interface Counts {
  /** Rows of room_messages (every message id a room ever accepted, erased ones included). */
  messages: number | null;
  erasedMessages: number | null;
  /** Distinct Yjs documents (snapshot or tail rows). */
  documents: number | null;
  /** Upload rows not deleted. */
  files: number | null;
  users: number | null;
  rooms: number | null;
  /** Upload byte files in the backup (files, thumbnails, quarantine). */
  uploads: number;
}

export interface Manifest {
  format: string;
  formatVersion: number;
  appVersion: string;
  createdAt: string;
  sourceDataDir: string;
  sourceHost: string;
  durationMs: number;
  migrations: { id: number; name: string }[];
  counts: Counts;
  /** Sum of the sizes of the files below. */
  bytes: number;
  /** Every file of the backup but the manifest: relative path (with /) → size and SHA-256 (hex). */
  files: Record<string, { size: number; sha256: string }>;
}

export const APP_VERSION: string = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

/** `2025-01-02T03-04-05-678Z`: an ISO time usable in a file name. */
export const stamp = (d = new Date()) => d.toISOString().replace(/[:.]/g, '-');

// ---------------------------------------------------------------------------------------------
// small file helpers

export async function sha256File(file: string): Promise<{ size: number; sha256: string }> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await fs.promises.open(p, 'r').catch(() => null);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // some file systems refuse fsync on a directory
  } finally {
    await fh.close();
  }
}

/** Regular files under `dir`, as paths relative to it with `/` separators. */
async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.promises.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [] as fs.Dirent[]);
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

/** rename, or copy + remove across file systems. */
async function move(from: string, to: string): Promise<void> {
  try {
    await fs.promises.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await fs.promises.cp(from, to, { recursive: true, preserveTimestamps: true });
    await fs.promises.rm(from, { recursive: true, force: true });
  }
}

function count(db: Database.Database, sql: string): number | null {
  try {
    return db.prepare(sql).pluck().get() as number;
  } catch {
    return null;
  }
}

function readCounts(db: Database.Database, uploads: number): Counts {
  return {
    messages: count(db, 'SELECT COUNT(*) FROM room_messages'),
    erasedMessages: count(db, 'SELECT COUNT(*) FROM room_messages WHERE erased_at IS NOT NULL'),
    documents: count(db, 'SELECT COUNT(*) FROM (SELECT name FROM doc_snapshots UNION SELECT name FROM doc_updates)'),
    files: count(db, 'SELECT COUNT(*) FROM files WHERE deleted_at IS NULL'),
    users: count(db, 'SELECT COUNT(*) FROM users'),
    rooms: count(db, 'SELECT COUNT(*) FROM rooms'),
    uploads,
  };
}

function readMigrations(db: Database.Database): { id: number; name: string }[] {
  return db.prepare('SELECT id, name FROM schema_migrations ORDER BY id').all() as { id: number; name: string }[];
}

// ---------------------------------------------------------------------------------------------
// the data-directory lock

export interface LockInfo {
  pid: number;
  port: number | null;
  host: string | null;
  startedAt: string;
  /** Linux: the process start time (clock ticks since boot, /proc/<pid>/stat field 22). */
  procStart: string | null;
  token: string;
}

function procStart(pid: number | 'self'): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

export function readLock(dataDir: string): LockInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8'));
    return typeof v?.pid === 'number' ? (v as LockInfo) : null;
  } catch {
    return null;
  }
}

/** Tokens of the locks servers in this process hold. */
const held = new Set<string>();

/** The lock of a server that is still running, or null (none, or stale). */
export function liveLock(dataDir: string): LockInfo | null {
  const lock = readLock(dataDir);
  if (!lock) return null;
  if (lock.pid === process.pid) return held.has(lock.token) ? lock : null;
  if (!pidAlive(lock.pid)) return null;
  if (lock.procStart) {
    const now = procStart(lock.pid);
    if (now !== null && now !== lock.procStart) return null; // the pid was reused by another process
  }
  return lock;
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/**
 * Takes `DATA_DIR/server.lock` for this server. Another live holder is logged, not refused: after a
 * crash a reused pid could look alive, and an operator can always see who holds the directory.
 */
export function takeServerLock(dataDir: string, log?: Logger) {
  const other = liveLock(dataDir);
  if (other) log?.warn({ pid: other.pid, port: other.port }, `${LOCK_FILE} is held by another live process; is a second server running on this data directory?`);
  const info: LockInfo = { pid: process.pid, port: null, host: null, startedAt: new Date().toISOString(), procStart: procStart('self'), token: crypto.randomBytes(8).toString('hex') };
  const file = path.join(dataDir, LOCK_FILE);
  const write = () => {
    try {
      writeJsonAtomic(file, info);
    } catch (err) {
      log?.error({ err }, `cannot write ${LOCK_FILE}`);
    }
  };
  write();
  held.add(info.token);
  return {
    info,
    listening(port: number, host: string) {
      info.port = port;
      info.host = host;
      write();
    },
    /** Removes the lock if it is still ours. */
    release() {
      held.delete(info.token);
      if (readLock(dataDir)?.token === info.token) fs.rmSync(file, { force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// backup

export interface BackupOptions {
  dataDir: string;
  /** The backup directory to create (must not exist). */
  out: string;
  /**
   * The server's own database handle: the copy then runs in small steps between the server's
   * writes (its own writes update the copy as they happen, no restart). Without it a separate
   * connection copies every page in one step (one read snapshot; WAL writers are not blocked).
   */
  db?: Db;
  pagesPerStep?: number;
  signal?: AbortSignal;
}

export interface BackupResult {
  path: string;
  manifest: Manifest;
}

export async function createBackup(opts: BackupOptions): Promise<BackupResult> {
  const t0 = Date.now();
  const dataDir = path.resolve(opts.dataDir);
  const out = path.resolve(opts.out);
  const source = path.join(dataDir, DB_FILE);
  if (!fs.existsSync(source)) throw new Error(`no database at ${source}`);
  if (fs.existsSync(out)) throw new Error(`${out} already exists`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.partial-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(tmp);
  const aborted = () => {
    if (opts.signal?.aborted) throw new Error('backup aborted (server closing)');
  };
  try {
    // 1. the database: one consistent snapshot
    const copy = path.join(tmp, DB_FILE);
    if (opts.db) {
      const pages = opts.pagesPerStep ?? 1000;
      await opts.db.backup(copy, { progress: () => (aborted(), pages) });
    } else {
      const conn = new Database(source, { fileMustExist: true });
      try {
        conn.pragma('busy_timeout = 10000');
        await conn.backup(copy, { progress: () => 0x7fffffff });
      } finally {
        conn.close();
      }
    }
    aborted();
    // a self-contained file: no -wal/-shm beside it, readable read-only
    let migrations: { id: number; name: string }[];
    let counts: Omit<Counts, 'uploads'>;
    {
      const c = new Database(copy, { fileMustExist: true });
      try {
        c.pragma('journal_mode = DELETE');
        migrations = readMigrations(c);
        counts = readCounts(c, 0);
      } finally {
        c.close();
      }
      for (const s of ['-wal', '-shm', '-journal']) fs.rmSync(copy + s, { force: true });
    }

    // 2. the upload bytes (names are server-chosen ids, immutable once in place)
    let uploads = 0;
    for (const dir of UPLOAD_DIRS) {
      const from = path.join(dataDir, 'uploads', dir);
      const to = path.join(tmp, 'uploads', dir);
      await fs.promises.mkdir(to, { recursive: true });
      const names = await fs.promises.readdir(from, { withFileTypes: true }).catch(() => [] as fs.Dirent[]);
      for (const e of names) {
        if (!e.isFile()) continue;
        aborted();
        try {
          await fs.promises.copyFile(path.join(from, e.name), path.join(to, e.name), fs.constants.COPYFILE_FICLONE);
          uploads++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed meanwhile
        }
      }
    }

    // 3. checksums (and fsync) of everything, then the manifest, then the rename
    const files: Manifest['files'] = {};
    let bytes = 0;
    for (const rel of await listFiles(tmp)) {
      aborted();
      const abs = path.join(tmp, rel);
      files[rel] = await sha256File(abs);
      bytes += files[rel].size;
      await fsyncPath(abs);
    }
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      appVersion: APP_VERSION,
      createdAt: new Date(t0).toISOString(),
      sourceDataDir: dataDir,
      sourceHost: os.hostname(),
      durationMs: Date.now() - t0,
      migrations,
      counts: { ...counts, uploads },
      bytes,
      files,
    };
    const manifestPath = path.join(tmp, MANIFEST_FILE);
    fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
    await fsyncPath(manifestPath);
    for (const d of [path.join(tmp, 'uploads', 'files'), path.join(tmp, 'uploads', 'thumbs'), path.join(tmp, 'uploads', 'quarantine'), path.join(tmp, 'uploads'), tmp]) await fsyncPath(d);
    aborted();
    await fs.promises.rename(tmp, out);
    await fsyncPath(path.dirname(out));
    return { path: out, manifest };
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// verify

export interface VerifyReport {
  ok: boolean;
  dir: string;
  /** Each one makes the backup unusable. */
  problems: string[];
  warnings: string[];
  manifest: Manifest | null;
  documents: number;
  filesChecked: number;
}

/** Tables the applied migrations create (minus those they drop), read from the migration SQL. */
export function tablesOf(ids: Iterable<number>): string[] {
  const want = new Set(ids);
  const tables = new Set<string>(['schema_migrations']);
  for (const m of MIGRATIONS) {
    if (!want.has(m.id)) continue;
    const sql = m.sql.replace(/--[^\n]*/g, '');
    for (const [, name] of sql.matchAll(/CREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?["`]?(\w+)/gi)) tables.add(name);
    for (const [, name] of sql.matchAll(/DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?["`]?(\w+)/gi)) tables.delete(name);
  }
  return [...tables].sort();
}

function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file)) throw new Error(`no ${MANIFEST_FILE} in ${dir}: not a backup, or an incomplete one`);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${MANIFEST_FILE} is not valid JSON (${(err as Error).message})`);
  }
  if (m?.format !== FORMAT || typeof m.files !== 'object' || !Array.isArray(m.migrations)) throw new Error(`${MANIFEST_FILE} is not a messenger backup manifest`);
  if (m.formatVersion > FORMAT_VERSION) throw new Error(`backup format ${m.formatVersion} is newer than this version understands (${FORMAT_VERSION}); upgrade first`);
  return m;
}

/** Checks the files against the manifest (checksums) and, unless `filesOnly`, the database inside. */
export async function verifyBackup(dirArg: string, { filesOnly = false } = {}): Promise<VerifyReport> {
  const dir = path.resolve(dirArg);
  const report: VerifyReport = { ok: false, dir, problems: [], warnings: [], manifest: null, documents: 0, filesChecked: 0 };
  const problem = (s: string) => void report.problems.push(s);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    problem(`${dir} is not a directory`);
    return report;
  }
  let manifest: Manifest;
  try {
    manifest = readManifest(dir);
  } catch (err) {
    problem((err as Error).message);
    return report;
  }
  report.manifest = manifest;

  // every checksum
  if (!manifest.files[DB_FILE]) problem(`the manifest lists no ${DB_FILE}`);
  for (const [rel, want] of Object.entries(manifest.files)) {
    const abs = path.join(dir, rel);
    if (rel.split('/').includes('..') || path.isAbsolute(rel)) {
      problem(`the manifest names a path outside the backup: ${rel}`);
      continue;
    }
    if (!fs.existsSync(abs)) {
      problem(`missing file: ${rel}`);
      continue;
    }
    const got = await sha256File(abs);
    report.filesChecked++;
    if (got.size !== want.size || got.sha256 !== want.sha256) problem(`checksum mismatch: ${rel} (size ${got.size}, expected ${want.size})`);
  }
  for (const rel of await listFiles(dir)) {
    if (rel !== MANIFEST_FILE && !manifest.files[rel]) report.warnings.push(`file not in the manifest (ignored by restore): ${rel}`);
  }
  if (filesOnly || !fs.existsSync(path.join(dir, DB_FILE))) return finish(report);

  // the database
  let db: Database.Database | null = null;
  try {
    db = new Database(path.join(dir, DB_FILE), { readonly: true, fileMustExist: true });
    const integrity = db.pragma('integrity_check') as { integrity_check: string }[];
    const lines = integrity.map((r) => r.integrity_check);
    if (lines.length !== 1 || lines[0] !== 'ok') problem(`PRAGMA integrity_check: ${lines.slice(0, 5).join('; ')}${lines.length > 5 ? ` (+${lines.length - 5} more)` : ''}`);

    const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    if (!tables.has('schema_migrations')) {
      problem('table schema_migrations is missing');
      return finish(report);
    }
    const migrations = readMigrations(db);
    const ids = migrations.map((m) => m.id);
    const known = new Set(MIGRATIONS.map((m) => m.id));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length) problem(`the database has migrations this version does not know (${unknown.join(', ')}): it comes from a newer version; upgrade before restoring`);
    const listed = manifest.migrations.map((m) => m.id);
    if (ids.join(',') !== listed.join(',')) problem(`migration ids differ from the manifest: database [${ids.join(', ')}], manifest [${listed.join(', ')}]`);
    const missing = tablesOf(ids).filter((t) => !tables.has(t));
    if (missing.length) problem(`required tables missing: ${missing.join(', ')}`);
    else {
      const counts = readCounts(db, manifest.counts?.uploads ?? 0);
      for (const key of ['messages', 'documents', 'files', 'users', 'rooms'] as const) {
        const want = manifest.counts?.[key];
        if (want !== undefined && want !== null && counts[key] !== want) problem(`count of ${key} is ${counts[key]}, the manifest says ${want}`);
      }
      // every stored document must load: snapshot, then the tail in order, as the server does
      const names = db.prepare('SELECT name FROM doc_snapshots UNION SELECT name FROM doc_updates ORDER BY name').pluck().all() as string[];
      const snap = db.prepare('SELECT state FROM doc_snapshots WHERE name = ?').pluck();
      const tail = db.prepare('SELECT id, data FROM doc_updates WHERE name = ? ORDER BY id');
      for (const name of names) {
        const doc = new Y.Doc({ gc: true });
        let at = 'snapshot';
        try {
          const state = snap.get(name) as Buffer | undefined;
          if (state) Y.applyUpdate(doc, new Uint8Array(state));
          for (const row of tail.iterate(name) as Iterable<{ id: number; data: Buffer }>) {
            at = `update row ${row.id}`;
            Y.applyUpdate(doc, new Uint8Array(row.data));
          }
          at = 'state encoding';
          Y.encodeStateAsUpdate(doc);
          if (doc.store.pendingStructs || doc.store.pendingDs) report.warnings.push(`document "${name}" has updates waiting for missing dependencies`);
          report.documents++;
        } catch (err) {
          problem(`document "${name}" cannot be loaded (${at}): ${(err as Error).message}`);
        } finally {
          doc.destroy();
        }
      }
      try {
        const fk = db.pragma('foreign_key_check') as unknown[];
        if (fk.length) report.warnings.push(`PRAGMA foreign_key_check: ${fk.length} rows refer to missing parents`);
      } catch {
        // not fatal
      }
      // upload rows whose bytes are not in the backup (deleted between the snapshot and the copy)
      try {
        const rows = db.prepare("SELECT id FROM files WHERE state = 'clean' AND deleted_at IS NULL").pluck().all() as string[];
        const absent = rows.filter((id) => !manifest.files[`uploads/files/${id}`]);
        if (absent.length) report.warnings.push(`${absent.length} clean upload(s) have no bytes in the backup (removed while it ran?): ${absent.slice(0, 5).join(', ')}`);
      } catch {
        // older schema
      }
    }
  } catch (err) {
    problem(`the database cannot be read: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
  return finish(report);
}

function finish(report: VerifyReport): VerifyReport {
  report.ok = report.problems.length === 0;
  return report;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatReport(r: VerifyReport): string {
  const lines: string[] = [];
  const m = r.manifest;
  if (m) {
    const c = m.counts;
    lines.push(`backup ${r.dir}`);
    lines.push(`  made ${m.createdAt} by version ${m.appVersion} from ${m.sourceHost}:${m.sourceDataDir}`);
    lines.push(`  ${c.messages} messages, ${c.documents} documents, ${c.files} files (${c.uploads} upload files), ${c.users} users, ${c.rooms} rooms; ${formatBytes(m.bytes)}`);
    lines.push(`  migrations ${m.migrations.map((x) => x.id).join(', ')}; ${r.filesChecked} checksums checked, ${r.documents} documents opened`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const p of r.problems) lines.push(`FAILED: ${p}`);
  lines.push(r.ok ? 'OK: the backup is complete and readable' : `NOT OK: ${r.problems.length} problem(s); do not restore this backup`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// restore

export class RestoreRefused extends Error {
  constructor(message: string, readonly reason: 'running' | 'backup') {
    super(message);
  }
}

export interface RestoreResult {
  dataDir: string;
  /** Where the data that was there went (null: there was none). */
  safetyDir: string | null;
  report: VerifyReport;
}

/**
 * Replaces the database and uploads of `dataDir` with a verified backup. The server must be
 * stopped. The current `messenger.db*`, `uploads/` and `server.lock` move to `safetyDir` (default
 * `<DATA_DIR>.before-restore-<time>`, beside the data directory); nothing else in the data directory
 * is touched. The backup is copied into a staging directory inside the data directory and checked
 * there first, so the swap is a few renames.
 */
export async function restoreBackup(opts: { backup: string; dataDir: string; safetyDir?: string; log?: (line: string) => void }): Promise<RestoreResult> {
  const say = opts.log ?? (() => {});
  const backup = path.resolve(opts.backup);
  const dataDir = path.resolve(opts.dataDir);
  const lock = liveLock(dataDir);
  if (lock) throw new RestoreRefused(lockMessage(dataDir, lock), 'running');
  const report = await verifyBackup(backup);
  if (!report.ok) throw new RestoreRefused(`the backup did not verify\n${formatReport(report)}`, 'backup');
  const manifest = report.manifest!;
  say(`backup verified: ${manifest.counts.messages} messages, ${manifest.counts.documents} documents, ${manifest.counts.uploads} upload files`);

  const ts = stamp();
  fs.mkdirSync(dataDir, { recursive: true });
  const staging = path.join(dataDir, `.restore-${ts}`);
  fs.mkdirSync(staging);
  try {
    for (const rel of Object.keys(manifest.files)) {
      const to = path.join(staging, rel);
      await fs.promises.mkdir(path.dirname(to), { recursive: true });
      await fs.promises.copyFile(path.join(backup, rel), to, fs.constants.COPYFILE_FICLONE);
      const got = await sha256File(to);
      if (got.sha256 !== manifest.files[rel].sha256) throw new Error(`copy of ${rel} does not match its checksum (disk problem?)`);
      await fsyncPath(to);
    }
    for (const d of [...UPLOAD_DIRS, 'tmp']) await fs.promises.mkdir(path.join(staging, 'uploads', d), { recursive: true });
  } catch (err) {
    await fs.promises.rm(staging, { recursive: true, force: true });
    throw err;
  }
  // checked again: a server started while we copied
  const late = liveLock(dataDir);
  if (late) {
    await fs.promises.rm(staging, { recursive: true, force: true });
    throw new RestoreRefused(lockMessage(dataDir, late), 'running');
  }

  const present = DATA_ENTRIES.filter((e) => fs.existsSync(path.join(dataDir, e)));
  let safetyDir: string | null = null;
  const moved: string[] = [];
  const placed: string[] = [];
  try {
    if (present.length) {
      safetyDir = path.resolve(opts.safetyDir ?? `${dataDir}.before-restore-${ts}`);
      try {
        fs.mkdirSync(safetyDir, { recursive: true });
      } catch (err) {
        if (opts.safetyDir) throw err;
        // the parent is not writable: keep it inside the data directory
        safetyDir = path.join(dataDir, `.before-restore-${ts}`);
        fs.mkdirSync(safetyDir);
      }
      for (const e of present) {
        await move(path.join(dataDir, e), path.join(safetyDir, e));
        moved.push(e);
      }
      say(`current data moved to ${safetyDir}`);
    }
    for (const e of fs.readdirSync(staging)) {
      await fs.promises.rename(path.join(staging, e), path.join(dataDir, e));
      placed.push(e);
    }
    await fs.promises.rm(staging, { recursive: true, force: true });
    await fsyncPath(dataDir);
  } catch (err) {
    // put everything back where it was; the staging copy stays for inspection
    for (const e of placed) await fs.promises.rename(path.join(dataDir, e), path.join(staging, e)).catch(() => {});
    for (const e of moved) await move(path.join(safetyDir!, e), path.join(dataDir, e)).catch(() => {});
    throw new Error(`restore failed and was rolled back (${(err as Error).message}); staging copy left in ${staging}`);
  }
  return { dataDir, safetyDir, report };
}

export function lockMessage(dataDir: string, lock: LockInfo): string {
  return `a server is running on ${dataDir} (pid ${lock.pid}${lock.port ? `, port ${lock.port}` : ''}, since ${lock.startedAt}): stop it first. ` +
    `If no server is running, remove ${path.join(dataDir, LOCK_FILE)}.`;
}

// ---------------------------------------------------------------------------------------------
// scheduled backups

export interface BackupRecord {
  /** When the run started (ISO). */
  at: string;
  ok: boolean;
  /** The backup directory (null when it failed). */
  path: string | null;
  error: string | null;
  bytes: number;
  durationMs: number;
  counts: Counts | null;
  /** Backups removed after this one (beyond BACKUP_KEEP). */
  pruned: string[];
  /** `verify-backup` on the new backup, in a child process (null: not run, the backup failed). */
  verified?: boolean | null;
  /** What verification found, when it failed. */
  problems?: string[];
}

/**
 * Runs `scripts/verify-backup.ts` on `dir` in a child process: the integrity check and the document
 * loads are synchronous SQLite and Yjs work that must not stall the server's event loop.
 */
export function verifyInChild(dir: string): Promise<{ ok: boolean; problems: string[] }> {
  const script = path.resolve(import.meta.dirname, '..', '..', 'scripts', 'verify-backup.ts');
  return new Promise((resolve) => {
    const child = fork(script, [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => void (err = (err + c.toString()).slice(-4000)));
    child.stdout!.resume();
    child.on('error', (e) => resolve({ ok: false, problems: [e.message] }));
    child.on('exit', (code) => resolve(code === 0 ? { ok: true, problems: [] } : { ok: false, problems: err.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 20) }));
  });
}

/** Completed scheduled backups in `dir`, oldest first. */
export function listBackups(dir: string): string[] {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  return names.filter((n) => SCHEDULED.test(n) && fs.existsSync(path.join(dir, n, MANIFEST_FILE))).sort().map((n) => path.join(dir, n));
}

/** Removes the oldest scheduled backups beyond `keep` (0: keep all) and partial ones of dead processes. */
export async function pruneBackups(dir: string, keep: number): Promise<string[]> {
  const removed: string[] = [];
  const all = listBackups(dir);
  if (keep > 0) {
    for (const p of all.slice(0, Math.max(0, all.length - keep))) {
      await fs.promises.rm(p, { recursive: true, force: true });
      removed.push(p);
    }
  }
  for (const n of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const m = PARTIAL.exec(n);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) await fs.promises.rm(path.join(dir, n), { recursive: true, force: true });
  }
  return removed;
}

export function readLast(dir: string | null): BackupRecord | null {
  if (!dir) return null;
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, LAST_FILE), 'utf8')) as BackupRecord;
  } catch {
    return null;
  }
}

export interface SchedulerOptions {
  /** BACKUP_DIR; null: no scheduled backups and `run()` refuses. */
  dir: string | null;
  /** Interval (0: no schedule; `run()` still works). The first backup comes one interval after start. */
  everyMs: number;
  keep: number;
  dataDir: string;
  db: Db;
  log: Logger;
  /** Verify every new backup in a child process (default true). */
  verify?: boolean;
}

export function createBackupScheduler(o: SchedulerOptions) {
  const dir = o.dir ? path.resolve(o.dir) : null;
  let last: BackupRecord | null = readLast(dir);
  let running: Promise<BackupRecord> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const abort = new AbortController();

  const once = async (): Promise<BackupRecord> => {
    const t0 = Date.now();
    const at = new Date(t0);
    let out = path.join(dir!, `messenger-${stamp(at)}`);
    for (let i = 2; fs.existsSync(out); i++) out = path.join(dir!, `messenger-${stamp(at)}-${i}`);
    let record: BackupRecord;
    try {
      const { manifest } = await createBackup({ dataDir: o.dataDir, out, db: o.db, signal: abort.signal });
      const pruned = await pruneBackups(dir!, o.keep);
      const check = o.verify === false ? null : await verifyInChild(out);
      record = {
        at: at.toISOString(), ok: check ? check.ok : true, path: out, error: check && !check.ok ? 'verification failed' : null, bytes: manifest.bytes,
        durationMs: Date.now() - t0, counts: manifest.counts, pruned, verified: check ? check.ok : null, ...(check && !check.ok ? { problems: check.problems } : {}),
      };
      o.log.info({ path: out, bytes: manifest.bytes, durationMs: record.durationMs, pruned: pruned.length }, 'backup made');
    } catch (err) {
      record = { at: at.toISOString(), ok: false, path: null, error: (err as Error).message, bytes: 0, durationMs: Date.now() - t0, counts: null, pruned: [] };
      o.log.error({ err }, 'backup failed');
    }
    last = record;
    try {
      fs.mkdirSync(dir!, { recursive: true });
      writeJsonAtomic(path.join(dir!, LAST_FILE), record);
    } catch (err) {
      o.log.error({ err }, `cannot write ${LAST_FILE}`);
    }
    return record;
  };

  const schedule = () => {
    if (stopped || !dir || o.everyMs <= 0) return;
    const due = Date.now() + o.everyMs;
    // setTimeout cannot wait longer than 2^31-1 ms (24.8 days): wait in pieces
    const wait = () => {
      const left = due - Date.now();
      if (left > 0) {
        timer = setTimeout(wait, Math.min(left, 0x7fffffff));
        timer.unref();
        return;
      }
      api.run().catch(() => {}).finally(schedule);
    };
    wait();
  };

  const api = {
    /** Whether BACKUP_DIR is set. */
    enabled: dir !== null,
    dir,
    /** The last run's result (from `last.json` after a restart), or null. */
    last: (): BackupRecord | null => last,
    /** Whether a backup is being made now. */
    running: () => running !== null,
    /** Makes a backup now (joins the one in progress, if any). Rejects only when BACKUP_DIR is unset. */
    run(): Promise<BackupRecord> {
      if (!dir) return Promise.reject(new Error('BACKUP_DIR is not set'));
      if (stopped) return Promise.reject(new Error('the server is closing'));
      running ??= once().finally(() => {
        running = null;
      });
      return running;
    },
    start() {
      schedule();
    },
    /** Stops the schedule and aborts a backup in progress (its partial directory is removed). */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      abort.abort();
      await running?.catch(() => {});
    },
  };
  return api;
}
export type BackupScheduler = ReturnType<typeof createBackupScheduler>;
