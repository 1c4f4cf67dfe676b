/**
 * Backup and restore (issue 10 §4), on real servers and real SQLite files; the scripts run as child
 * processes, as an operator runs them.
 * 1. `npm run backup` during a live burst of messages: the backup verifies, restores, and a fresh
 *    server on the restored data has every message acknowledged before the backup started.
 * 2. `verify-backup` catches a damaged database file, a missing upload, and an undecodable
 *    document row whose manifest checksum was "fixed" (only the document check can see it).
 * 3. `restore` refuses without --yes and while a live server holds the data directory, ignores the
 *    stale lock a SIGKILLed server leaves, restores, and keeps the previous data.
 * 4. Scheduled backups: one per interval (none at start), pruned to BACKUP_KEEP, `last()` reports.
 * The tests share the first one's backup.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import Database from 'better-sqlite3';
import * as Y from 'yjs';
import pino from 'pino';
import { loadConfig, type Config } from '../../server/config.ts';
import { createApp, type AppOptions } from '../../server/index.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { readServerDoc } from '../../server/collab/server-writes.ts';
import { createBackup, listBackups, readLock, restoreBackup, verifyBackup, LOCK_FILE, LAST_FILE, type Manifest } from '../../server/ops/backup.ts';
import { apiClient, makeRoom, makeUser, startServer, waitFor, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { acked, connectSocket, openDoc, post, receiptsOf, type OpenDoc } from '../helpers/collab.ts';
import { attachmentOf, png, uploadTo } from '../helpers/uploads.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-backup-'));
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  fs.rmSync(root, { recursive: true, force: true });
});

const LIMITS = {
  ...TEST_LIMITS,
  messages: { ...RATE_LIMITS.messages, points: 100_000 },
  backlog: { ...RATE_LIMITS.backlog, points: 100_000 },
};

/** An in-process server on a given data directory. */
async function serverOn(dataDir: string, overrides: Partial<Config> = {}, opts: AppOptions = {}): Promise<TestServer> {
  const config = loadConfig({}, { dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent', sqliteSynchronous: 'NORMAL', ...overrides });
  const app = await createApp(config, { log: pino({ level: process.env.TEST_LOG ?? 'silent' }), rateLimits: LIMITS, ...opts });
  const port = await app.listen(0, '127.0.0.1');
  return { app, dataDir, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/collab`, close: () => app.close() };
}

/** The environment of a script: no inherited DATA_DIR/BACKUP_DIR. */
function scriptEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  for (const k of ['DATA_DIR', 'BACKUP_DIR', 'BACKUP_EVERY_HOURS', 'BACKUP_KEEP']) delete env[k];
  return env;
}

function runScript(script: 'backup' | 'verify-backup' | 'restore', args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('scripts', `${script}.ts`), ...args], { env: scriptEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The production entry point as a child process (as tests/integration/durability.test.ts does). */
async function startChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(path.resolve('server/main.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...scriptEnv(), PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanups.push(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}
const exited = (child: ChildProcess) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));

const manifestOf = (dir: string): Manifest => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

/** Shared by the tests below: the backup taken during the burst, and what it must hold. */
let burstBackup = '';
let segName = '';
let uploadId = '';

describe('backup and restore', () => {
  it('backs up online during a message burst; the restored data has every message acknowledged before', async () => {
    const server = await serverOn(path.join(root, 'live'));
    cleanups.push(() => server.close());
    await expect(server.app.backups.run()).rejects.toThrow(/BACKUP_DIR/);
    const users: TestUser[] = [];
    for (let i = 0; i < 3; i++) users.push(await makeUser(server));
    const room = await makeRoom(users[0], users.slice(1), { name: 'backed up' });
    segName = `room:${room.id}:0`;
    const writers: { u: TestUser; d: OpenDoc }[] = [];
    for (const u of users) {
      const socket = connectSocket(server.wsUrl);
      cleanups.push(() => socket.destroy());
      writers.push({ u, d: await openDoc(socket, segName, u.token) });
    }

    // one upload, attached to a message, so the backup carries upload bytes and a thumbnail
    const up = await uploadTo(server, users[0], room.id, 'photo.png', await png(64, 32));
    expect(up.status).toBe(201);
    uploadId = up.body.file.id;
    const withFile = post(writers[0].d.doc, users[0].id, 'with a file', { attachments: [attachmentOf(up.body)] } as Partial<Message>);
    await acked(writers[0].d.provider);
    await waitFor(() => receiptsOf(writers[0].d.doc).has(withFile), { message: 'receipt of the message with a file' });

    // each writer posts, waits for its receipt (the server committed it), and posts again
    const ackedIds: string[] = [withFile];
    let stop = false;
    const loops = writers.map(async (w, wi) => {
      for (let i = 0; !stop; i++) {
        const id = post(w.d.doc, w.u.id, `burst ${i} from writer ${wi}`);
        await waitFor(() => receiptsOf(w.d.doc).has(id), { timeout: 15_000, message: `receipt of ${id}` });
        ackedIds.push(id);
      }
    });
    await waitFor(() => ackedIds.length >= 40, { timeout: 15_000, message: 'the burst under way' });
    const before = new Set(ackedIds);
    burstBackup = path.join(root, 'backups', 'burst');
    // the script (its own connection, one read snapshot) and, at the same time, the server's own
    // scheduled-backup path (the server's connection, one page per event-loop turn between writes)
    const inProcess = path.join(root, 'in-process');
    const [backup] = await Promise.all([
      runScript('backup', ['--data-dir', server.dataDir, '--out', burstBackup]),
      createBackup({ dataDir: server.dataDir, out: inProcess, db: server.app.services.db, pagesPerStep: 1 }),
    ]);
    const during = ackedIds.length - before.size;
    // the burst went on meanwhile, then stops
    await waitFor(() => ackedIds.length > before.size + 10, { timeout: 15_000, message: 'writes after the backup' });
    stop = true;
    await Promise.all(loops);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toContain(burstBackup);
    console.log(`backup during a burst: ${before.size} messages acknowledged before it started, ${during} while it ran`);
    expect(during).toBeGreaterThan(0);

    // complete: the manifest, no partial directory left beside it
    const manifest = manifestOf(burstBackup);
    expect(manifest.counts.messages).toBeGreaterThanOrEqual(before.size);
    expect(manifest.migrations.map((m) => m.id).length).toBeGreaterThan(0);
    expect(Object.keys(manifest.files)).toEqual(expect.arrayContaining(['messenger.db', `uploads/files/${uploadId}`, `uploads/thumbs/${uploadId}.webp`]));
    expect(fs.readdirSync(path.dirname(burstBackup))).toEqual(['burst']);

    const verify = await runScript('verify-backup', [burstBackup]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/OK: the backup is complete/);
    const report = await verifyBackup(inProcess);
    expect(report.problems).toEqual([]);
    expect(report.documents).toBeGreaterThanOrEqual(1); // the segment at least
    const copyDb = new Database(path.join(inProcess, 'messenger.db'), { readonly: true });
    const inCopy = new Y.Doc();
    const snapshot = copyDb.prepare('SELECT state FROM doc_snapshots WHERE name = ?').pluck().get(segName) as Buffer | undefined;
    if (snapshot) Y.applyUpdate(inCopy, snapshot);
    for (const row of copyDb.prepare('SELECT data FROM doc_updates WHERE name = ? ORDER BY id').pluck().all(segName) as Buffer[]) Y.applyUpdate(inCopy, row);
    copyDb.close();
    expect([...before].filter((id) => !inCopy.getMap('messages').has(id))).toEqual([]);

    // restore onto a new data directory and serve it
    const restoredDir = path.join(root, 'restored');
    const restore = await runScript('restore', ['--yes', '--data-dir', restoredDir, burstBackup]);
    expect(restore.code, restore.stderr).toBe(0);
    const restored = await serverOn(restoredDir);
    cleanups.push(() => restored.close());
    const { messages, receipts } = await readServerDoc(restored.app.collab.hocuspocus, segName, (doc) => ({
      messages: new Set(doc.getMap('messages').keys()),
      receipts: new Set(doc.getMap('receipts').keys()),
    }));
    expect([...before].filter((id) => !messages.has(id))).toEqual([]);
    expect([...before].filter((id) => !receipts.has(id))).toEqual([]);
    expect(messages.size).toBe(manifest.counts.messages);
    // the same sessions, and the file's bytes
    const res = await fetch(`${restored.url}/api/files/${uploadId}`, { headers: { authorization: `Bearer ${users[0].token}` } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(path.join(burstBackup, 'uploads', 'files', uploadId)))).toBe(true);
  }, 60_000);

  it('verify-backup fails on a damaged database, a missing upload, and an undecodable document', async () => {
    expect(burstBackup).not.toBe('');
    const copy = (name: string) => {
      const dir = path.join(root, 'damaged', name);
      fs.cpSync(burstBackup, dir, { recursive: true });
      return dir;
    };
    // bytes flipped in the middle of the database file
    const flipped = copy('flipped');
    const dbFile = path.join(flipped, 'messenger.db');
    const bytes = fs.readFileSync(dbFile);
    for (let i = 0; i < 64; i++) bytes[Math.floor(bytes.length / 2) + i] ^= 0xff;
    fs.writeFileSync(dbFile, bytes);
    // an upload gone
    const missing = copy('missing');
    fs.rmSync(path.join(missing, 'uploads', 'files', uploadId));
    // a document row that is not a Yjs update, with the manifest's checksum made to match
    const tampered = copy('tampered');
    const tdb = new Database(path.join(tampered, 'messenger.db'));
    tdb.prepare('INSERT INTO doc_updates (name, data) VALUES (?, ?)').run(segName, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    tdb.close();
    const m = manifestOf(tampered);
    m.files['messenger.db'] = { size: fs.statSync(path.join(tampered, 'messenger.db')).size, sha256: crypto.createHash('sha256').update(fs.readFileSync(path.join(tampered, 'messenger.db'))).digest('hex') };
    fs.writeFileSync(path.join(tampered, 'manifest.json'), JSON.stringify(m));

    const [a, b, c] = await Promise.all([flipped, missing, tampered].map((d) => runScript('verify-backup', [d])));
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/checksum mismatch: messenger\.db|integrity_check/);
    expect(a.stderr).toMatch(/NOT OK/);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`missing file: uploads/files/${uploadId}`);
    expect(c.code).toBe(1);
    expect(c.stderr).not.toMatch(/checksum mismatch/);
    expect(c.stderr).toContain(`document "${segName}" cannot be loaded`);
    // no manifest: not a (complete) backup
    const none = path.join(root, 'damaged', 'none');
    fs.mkdirSync(none);
    expect((await verifyBackup(none)).problems.join()).toMatch(/no manifest\.json/);
  }, 60_000);

  it('restore refuses without --yes and while the server runs, ignores a stale lock, and keeps the old data', async () => {
    const dataDir = path.join(root, 'd3');
    const first = await startChild(dataDir);
    const lock = readLock(dataDir);
    expect(lock).toMatchObject({ pid: first.child.pid });
    const anon = apiClient(first.url);
    const reg = await anon('POST', '/api/register', { username: 'restorer', password: 'password123' });
    expect(reg.status).toBe(201);
    const other = await anon('POST', '/api/register', { username: 'other', password: 'password123' });
    const memberIds = [other.body.user.id];
    const alice = apiClient(first.url, reg.body.token);
    expect((await alice('POST', '/api/rooms', { name: 'before backup', memberIds })).status).toBe(201);
    const backup = path.join(root, 'backups', 'd3');
    await createBackup({ dataDir, out: backup }); // a separate connection, as the script uses
    expect((await alice('POST', '/api/rooms', { name: 'after backup', memberIds })).status).toBe(201);

    const [running, noYes] = await Promise.all([runScript('restore', ['--yes', '--data-dir', dataDir, backup]), runScript('restore', ['--data-dir', dataDir, backup])]);
    expect(running.code).toBe(3);
    expect(running.stderr).toContain(`a server is running on ${dataDir} (pid ${first.child.pid}`);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toMatch(/refusing without --yes/);
    expect(fs.readdirSync(root).filter((n) => n.startsWith('d3.before-restore-'))).toEqual([]);

    // SIGKILL leaves the lock behind; a dead pid's lock does not count
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(fs.existsSync(path.join(dataDir, LOCK_FILE))).toBe(true);
    const ok = await runScript('restore', ['--yes', '--data-dir', dataDir, backup]);
    expect(ok.code, ok.stderr).toBe(0);
    const safety = fs.readdirSync(root).filter((n) => n.startsWith('d3.before-restore-'));
    expect(safety.length).toBe(1);
    expect(ok.stdout).toContain(path.join(root, safety[0]));
    const roomNames = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare('SELECT name FROM rooms ORDER BY name').pluck().all() as string[]).filter((n) => n.endsWith('backup'));
      } finally {
        db.close();
      }
    };
    // the previous data, complete (with its WAL), is in the safety copy; the restored data is the backup's
    expect(roomNames(path.join(root, safety[0], 'messenger.db'))).toEqual(['after backup', 'before backup']);
    expect(roomNames(path.join(dataDir, 'messenger.db'))).toEqual(['before backup']);
    expect(fs.existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);

    // the restored server serves the old session; a clean stop removes its lock
    const second = await startChild(dataDir);
    expect(readLock(dataDir)?.pid).toBe(second.child.pid);
    const rooms = await apiClient(second.url, reg.body.token)('GET', '/api/rooms');
    expect(rooms.status).toBe(200);
    expect(rooms.body.rooms.map((r: { name: string }) => r.name)).toContain('before backup');
    expect(rooms.body.rooms.map((r: { name: string }) => r.name)).not.toContain('after backup');
    second.child.kill('SIGTERM');
    await exited(second.child);
    expect(fs.existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
  }, 60_000);

  it('makes scheduled backups, prunes beyond BACKUP_KEEP and reports the last one', async () => {
    const backupDir = path.join(root, 'scheduled');
    const server = await startServer({ backupDir, backupKeep: 2 }, { backupEveryMs: 300, rateLimits: LIMITS });
    let closed = false;
    cleanups.push(() => (closed ? undefined : server.close()));
    // none at start
    expect(server.app.backups.last()).toBeNull();
    expect(listBackups(backupDir)).toEqual([]);
    const u = await makeUser(server);
    await makeRoom(u, [await makeUser(server)], { name: 'scheduled' });

    const seen = new Set<string>();
    let most = 0;
    await waitFor(() => {
      const last = server.app.backups.last();
      if (last?.ok && last.path) seen.add(last.path);
      // between runs (a new backup is complete before the old ones go: transiently keep + 1)
      if (!server.app.backups.running()) most = Math.max(most, listBackups(backupDir).length);
      return seen.size >= 4;
    }, { timeout: 20_000, interval: 10, message: 'four scheduled backups' });
    expect(most).toBeLessThanOrEqual(2);
    const last = server.app.backups.last()!;
    expect(last).toMatchObject({ ok: true, error: null });
    expect(last.bytes).toBeGreaterThan(0);
    expect(last.durationMs).toBeGreaterThanOrEqual(0);
    expect(last.counts?.rooms).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(fs.readFileSync(path.join(backupDir, LAST_FILE), 'utf8')).at).toBeDefined();
    // kept: the newest two; the older ones are gone
    const kept = listBackups(backupDir);
    expect(kept.length).toBeLessThanOrEqual(2);
    expect(kept).toContain(last.path);
    for (const p of [...seen].sort().slice(0, -2)) expect(fs.existsSync(p)).toBe(false);
    expect((await verifyBackup(last.path!)).ok).toBe(true);

    // one now, on demand
    const now = await server.app.backups.run();
    expect(now.ok).toBe(true);
    expect(fs.existsSync(path.join(now.path!, 'manifest.json'))).toBe(true);
    expect(readLock(server.dataDir)?.pid).toBe(process.pid);
    // a server of this very process counts as running too
    await expect(restoreBackup({ backup: now.path!, dataDir: server.dataDir })).rejects.toThrow(/a server is running/);
    await server.app.close();
    closed = true;
    expect(fs.existsSync(path.join(server.dataDir, LOCK_FILE))).toBe(false);
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  }, 40_000);
});
