/**
 * Issue 10 §1–3 from outside: the admin API is invisible to everyone but server admins; disabling a
 * user ends their sessions and sockets at once; the last server admin stays; settings apply at once;
 * every privileged action leaves an audit entry written in its own transaction; the CSV opens in
 * Excel with Korean intact and formulas neutralised; `npm run admin` works from the shell.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, apiClient, waitFor, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked } from '../helpers/collab.ts';
import { attachmentOf, png, uploadTo } from '../helpers/uploads.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';

let server: TestServer;
let admin: TestUser; // the first account: a server admin
let alice: TestUser; // a room admin, not a server admin
let bob: TestUser;
const PASSWORD = 'password123';

beforeAll(async () => {
  server = await startServer({}, { rateLimits: { ...TEST_LIMITS, upload: { ...RATE_LIMITS.upload, points: 1000 } } });
  admin = await makeUser(server, 'root_admin');
  [alice, bob] = [await makeUser(server), await makeUser(server)];
});
afterAll(() => server.close());

const audit = async (query = '') => (await admin.api('GET', `/api/admin/audit?limit=100${query}`)).body.entries as { action: string; actorId: string | null; targetId: string; roomId: string | null; ip: string; details: any }[];

describe('who may see the admin API', () => {
  it('answers everyone but server admins exactly like a route that does not exist', async () => {
    const missing = await bob.api('GET', '/api/no-such-route');
    for (const [user, method, path] of [[bob, 'GET', '/api/admin/users'], [bob, 'PUT', '/api/admin/users'], [alice, 'GET', '/api/admin/stats'], [null, 'GET', '/api/admin/users'], [bob, 'DELETE', `/api/admin/users/${admin.id}`]] as const) {
      const r = await (user ? user.api : apiClient(server.url))(method, path);
      expect([method, path, r.status, r.body]).toEqual([method, path, 404, missing.body]);
    }
    expect((await admin.api('GET', '/api/admin/users')).status).toBe(200);
    expect((await admin.api('GET', '/api/me')).body.user.isAdmin).toBe(true);
    expect((await bob.api('GET', '/api/me')).body.user.isAdmin).toBe(false);
  });
});

describe('users', () => {
  it('disabling a user ends their sessions and closes their sockets at once; they cannot log in until enabled', async () => {
    const carol = await makeUser(server);
    const room = await makeRoom(carol, [alice]);
    const seg = await openDoc(connectSocket(server.wsUrl), `room:${room.id}:0`, carol.token);
    const raw = new RawClient(server.wsUrl);
    await raw.open(`room:${room.id}:0`, carol.token);
    const r = await admin.api('PATCH', `/api/admin/users/${carol.id}`, { disabled: true });
    expect(r).toMatchObject({ status: 200, body: { user: { id: carol.id, disabled: true } } });
    await waitFor(() => seg.provider.configuration.websocketProvider.status !== 'connected' || seg.closes.length > 0, { message: 'socket closed' });
    await waitFor(() => raw.socketClosed, { message: 'raw socket closed' });
    expect(raw.socketClosed).toEqual({ code: 4403, reason: 'account-disabled' });
    expect((await carol.api('GET', '/api/me')).status).toBe(401);
    const login = await apiClient(server.url)('POST', '/api/login', { username: carol.username, password: PASSWORD });
    expect(login).toMatchObject({ status: 403, body: { error: { code: 'account-disabled' } } });
    expect((await admin.api('PATCH', `/api/admin/users/${carol.id}`, { disabled: false })).body.user.disabled).toBe(false);
    expect((await apiClient(server.url)('POST', '/api/login', { username: carol.username, password: PASSWORD })).status).toBe(200);
    seg.provider.configuration.websocketProvider.destroy();
  });

  it('lists with last seen and sessions, creates, resets passwords, deletes', async () => {
    const list = await admin.api('GET', '/api/admin/users?q=root');
    expect(list.body.users[0]).toMatchObject({ username: 'root_admin', isAdmin: true, disabled: false, sessions: 1 });
    expect(list.body.users[0].lastSeenAt).toBeGreaterThan(0);
    const made = await admin.api('POST', '/api/admin/users', { username: 'made_by_admin', password: 'initial123', displayName: '김신입' });
    expect(made).toMatchObject({ status: 201, body: { user: { username: 'made_by_admin', displayName: '김신입', isAdmin: false } } });
    const first = await apiClient(server.url)('POST', '/api/login', { username: 'made_by_admin', password: 'initial123' });
    expect(first.status).toBe(200);
    expect((await admin.api('POST', `/api/admin/users/${made.body.user.id}/password`, { password: 'changed456' })).status).toBe(204);
    expect((await apiClient(server.url, first.body.token)('GET', '/api/me')).status).toBe(401);
    expect((await apiClient(server.url)('POST', '/api/login', { username: 'made_by_admin', password: 'changed456' })).status).toBe(200);
    expect((await admin.api('GET', `/api/admin/users/${made.body.user.id}/sessions`)).body.sessions).toHaveLength(1);
    expect((await admin.api('DELETE', `/api/admin/users/${made.body.user.id}`)).status).toBe(204);
    expect((await apiClient(server.url)('POST', '/api/login', { username: 'made_by_admin', password: 'changed456' })).status).toBe(401);
    expect((await admin.api('POST', '/api/admin/users', { username: 'x', password: 'initial123' })).body.error.code).toBe('invalid-username');
  });

  it('never leaves the server without an enabled server admin', async () => {
    for (const [method, path, body] of [['PATCH', `/api/admin/users/${admin.id}`, { admin: false }], ['PATCH', `/api/admin/users/${admin.id}`, { disabled: true }], ['DELETE', `/api/admin/users/${admin.id}`, undefined]] as const) {
      expect((await admin.api(method, path, body)).body.error.code).toBe('last-server-admin');
    }
    // with a second admin, the first may step down
    expect((await admin.api('PATCH', `/api/admin/users/${bob.id}`, { admin: true })).body.user.isAdmin).toBe(true);
    expect((await bob.api('PATCH', `/api/admin/users/${admin.id}`, { admin: false })).body.user.isAdmin).toBe(false);
    expect((await bob.api('PATCH', `/api/admin/users/${bob.id}`, { admin: false })).body.error.code).toBe('last-server-admin');
    expect((await bob.api('PATCH', `/api/admin/users/${admin.id}`, { admin: true })).status).toBe(200);
    expect((await admin.api('PATCH', `/api/admin/users/${bob.id}`, { admin: false })).status).toBe(200);
  });
});

describe('rooms and settings', () => {
  it('lists rooms with their figures and removes one', async () => {
    const room = await makeRoom(alice, [bob], { name: '제거될 방' });
    const seg = await openDoc(connectSocket(server.wsUrl), `room:${room.id}:0`, bob.token);
    post(seg.doc, bob.id, '하나');
    await acked(seg.provider);
    const listed = (await admin.api('GET', `/api/admin/rooms?q=${encodeURIComponent('제거될')}`)).body.rooms;
    expect(listed).toMatchObject([{ id: room.id, name: '제거될 방', members: 2, messages: 1 }]);
    expect((await admin.api('DELETE', `/api/admin/rooms/${room.id}`)).status).toBe(204);
    expect((await alice.api('GET', `/api/rooms/${room.id}`)).status).toBe(404);
    await waitFor(() => seg.closes.includes('not-found') || seg.closes.includes('not-a-member'), { message: 'closed' });
    seg.provider.configuration.websocketProvider.destroy();
  });

  it('applies settings at once and publishes them by /api/config', async () => {
    const r = await admin.api('PATCH', '/api/admin/settings', { uploadMaxBytes: 5000, registration: 'closed' });
    expect(r.body.settings).toMatchObject({ uploadMaxBytes: 5000, registration: 'closed', avAvailable: false });
    const config = (await apiClient(server.url)('GET', '/api/config')).body;
    expect(config).toMatchObject({ registration: 'closed', uploads: { maxBytes: 5000 } });
    expect((await apiClient(server.url)('POST', '/api/register', { username: 'latecomer', password: PASSWORD })).body.error.code).toBe('registration-closed');
    expect((await admin.api('PATCH', '/api/admin/settings', { avScan: true })).body.error.code).toBe('validation-failed');
    expect((await admin.api('PATCH', '/api/admin/settings', { uploadTypes: ['exe'] })).body.error.code).toBe('validation-failed');
    await admin.api('PATCH', '/api/admin/settings', { uploadMaxBytes: 100 * 1024 * 1024, registration: 'open' });
    expect((await admin.api('GET', '/api/admin/stats')).body).toMatchObject({ clamd: 'off', storage: { databaseBytes: expect.any(Number) } });
  });
});

describe('the audit log', () => {
  it('records every privileged action with who, what, target, when and from where', async () => {
    const room = await makeRoom(alice, [bob], { name: '감사 방' });
    const id = room.id;
    const bobSeg = await openDoc(connectSocket(server.wsUrl), `room:${id}:0`, bob.token);
    const aliceSeg = await openDoc(connectSocket(server.wsUrl), `room:${id}:0`, alice.token);
    const msg = post(bobSeg.doc, bob.id, '지워질 메시지');
    await acked(bobSeg.provider);
    await waitFor(() => messagesOf(aliceSeg.doc).get(msg) && receiptsOf(aliceSeg.doc).get(msg), { message: 'alice sees it' });
    const m = messagesOf(aliceSeg.doc);
    m.set(msg, { ...m.get(msg)!, text: '', deleted: true }); // a room admin deletes bob's message
    await acked(aliceSeg.provider);
    const up = await uploadTo(server, bob, id, 'bob.png', await png());
    post(bobSeg.doc, bob.id, '', { attachments: [attachmentOf(up.body)] });
    await acked(bobSeg.provider);
    await waitFor(async () => (await alice.api('GET', `/api/rooms/${id}/files`)).body.files.length === 1, { message: 'file listed' });
    expect((await alice.api('DELETE', `/api/files/${up.body.file.id}`)).status).toBe(204);
    await alice.api('PATCH', `/api/rooms/${id}`, { name: '=HYPERLINK("http://evil")' });
    await alice.api('PATCH', `/api/rooms/${id}`, { visibility: 'shared' });
    await alice.api('PUT', `/api/rooms/${id}/admins/${bob.id}`, { admin: true });
    await alice.api('PUT', `/api/rooms/${id}/admins/${bob.id}`, { admin: false });
    await alice.api('DELETE', `/api/rooms/${id}/members/${bob.id}`);
    await apiClient(server.url)('POST', '/api/login', { username: admin.username, password: 'wrong-password1' });
    await apiClient(server.url)('POST', '/api/login', { username: admin.username, password: PASSWORD });

    const entries = await audit(`&room=${id}`);
    const actions = entries.map((e) => e.action).sort();
    expect(actions).toEqual(['file.delete', 'message.delete', 'room.kick', 'room.rename', 'room.role', 'room.role', 'room.visibility'].sort());
    expect(entries.find((e) => e.action === 'message.delete')).toMatchObject({ actorId: alice.id, targetId: msg, details: { author: bob.id }, ip: expect.stringMatching(/127\.0\.0\.1/) });
    expect(entries.find((e) => e.action === 'room.kick')).toMatchObject({ actorId: alice.id, targetId: bob.id, ip: expect.stringMatching(/127\.0\.0\.1/) });
    const all = (await audit()).map((e) => e.action);
    for (const a of ['auth.admin-login', 'auth.admin-login-failed', 'admin.user.disable', 'admin.user.enable', 'admin.user.create', 'admin.user.password', 'admin.user.delete', 'admin.user.role', 'admin.room.remove', 'settings.change']) expect(all, a).toContain(a);
    // filters: by actor and by action prefix; dates
    expect((await audit(`&actor=${alice.id}`)).every((e) => e.actorId === alice.id)).toBe(true);
    expect((await audit('&action=room')).every((e) => e.action.startsWith('room.'))).toBe(true);
    expect(await audit(`&to=${Date.now() - 3_600_000}`)).toEqual([]);
    expect((await admin.api('GET', '/api/admin/audit?limit=1')).body.entries).toHaveLength(1);
    expect((await admin.api('GET', '/api/admin/audit?limit=x')).body.error.code).toBe('validation-failed');
    // a room admin sees the room's entries, a member does not
    expect((await alice.api('GET', `/api/rooms/${id}/audit`)).body.entries.every((e: any) => e.roomId === id)).toBe(true);
    expect((await alice.api('GET', `/api/rooms/${id}/audit`)).body.total).toBe(entries.length);
    const stranger = await makeUser(server);
    expect((await stranger.api('GET', `/api/rooms/${id}/audit`)).status).toBe(404);
    bobSeg.provider.configuration.websocketProvider.destroy();
    aliceSeg.provider.configuration.websocketProvider.destroy();
  });

  it('writes the entry in the same transaction: when the entry cannot be written, the action does not happen', async () => {
    const room = await makeRoom(alice, [bob], { name: 'atomic' });
    const db = server.app.services.db;
    db.exec("CREATE TEMP TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit down'); END;");
    try {
      const kick = await alice.api('DELETE', `/api/rooms/${room.id}/members/${bob.id}`);
      expect(kick.status).toBe(500);
      const rename = await alice.api('PATCH', `/api/rooms/${room.id}`, { name: 'renamed' });
      expect(rename.status).toBe(500);
    } finally {
      db.exec('DROP TRIGGER temp.audit_down');
    }
    const after = (await alice.api('GET', `/api/rooms/${room.id}`)).body.room;
    expect(after.name).toBe('atomic');
    expect(after.members.map((m: any) => m.id)).toContain(bob.id);
  });

  it('exports CSV for Excel: UTF-8 with a BOM, CRLF, Korean intact, formulas neutralised', async () => {
    const res = await fetch(`${server.url}/api/admin/audit?format=csv&action=room`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8').slice(1);
    const lines = text.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe('id,time (UTC),actor id,actor,action,target type,target id,room id,ip,details');
    expect(text).not.toMatch(/[^\r]\n/);
    expect(text).toContain('감사 방');
    // the renamed room's name starts with "=": in the details cell it is quoted, never a formula
    const rename = lines.find((l) => l.includes('room.rename') && l.includes('HYPERLINK'))!;
    const cells = rename.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, ''));
    for (const c of cells) expect(c.replace(/^"/, '')).not.toMatch(/^[=+\-@]/);
    const json = await fetch(`${server.url}/api/admin/audit?format=json&action=room`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(json.headers.get('content-disposition')).toContain('audit-log.json');
    expect((await json.json()).entries.length).toBe(lines.length - 2);
  });
});

describe('maintenance', () => {
  it('lists every job with its last run and runs one by hand (audited)', async () => {
    const jobs = (await admin.api('GET', '/api/admin/maintenance')).body.jobs;
    expect(jobs.map((j: any) => j.name).sort()).toEqual(['checkpoint', 'compaction', 'optimize', 'polls', 'retention', 'uploads']);
    const run = await admin.api('POST', '/api/admin/maintenance/checkpoint');
    expect(run).toMatchObject({ status: 200, body: { run: { ok: true } } });
    expect((await admin.api('POST', '/api/admin/maintenance/uploads')).body.run).toMatchObject({ ok: true, result: { orphans: 0 } });
    const after = (await admin.api('GET', '/api/admin/maintenance')).body.jobs.find((j: any) => j.name === 'checkpoint');
    expect(after.last).toMatchObject({ ok: true, durationMs: expect.any(Number) });
    expect((await admin.api('POST', '/api/admin/maintenance/nope')).status).toBe(404);
    expect((await bob.api('POST', '/api/admin/maintenance/checkpoint')).status).toBe(404);
    expect((await audit('&action=admin.maintenance')).map((e) => e.targetId)).toEqual(['uploads', 'checkpoint']);
  });
});

describe('npm run admin', () => {
  it('creates an admin from the shell, resets a password and refuses to demote the last admin', async () => {
    const run = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], { env: { ...process.env, DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' } });
    const out = await run('create', '--username', 'shell_admin', '--password', 'shellpass1', '--admin');
    expect(out.stdout).toContain('created shell_admin');
    const login = await apiClient(server.url)('POST', '/api/login', { username: 'shell_admin', password: 'shellpass1' });
    expect(login.body.user).toMatchObject({ username: 'shell_admin', isAdmin: true });
    await run('password', '--username', 'shell_admin', '--password', 'shellpass2');
    expect((await apiClient(server.url)('POST', '/api/login', { username: 'shell_admin', password: 'shellpass2' })).status).toBe(200);
    await run('revoke', '--username', 'shell_admin');
    const refused = await run('revoke', '--username', admin.username).catch((e) => e);
    expect(refused.code).toBe(2);
    expect(String(refused.stderr)).toContain('last-server-admin');
  });
});

describe('a backup from the dashboard', () => {
  it('is refused without BACKUP_DIR, and with it is made online, verified in a child process and audited', async () => {
    expect((await admin.api('POST', '/api/admin/backup')).body.error.code).toBe('backup-not-configured');
    expect((await bob.api('POST', '/api/admin/backup')).status).toBe(404);

    const fsm = await import('node:fs');
    const osm = await import('node:os');
    const pathm = await import('node:path');
    const backupDir = fsm.mkdtempSync(pathm.join(osm.tmpdir(), 'messenger-dash-backup-'));
    const other = await startServer({ backupDir });
    try {
      const root = await makeUser(other, 'backup_root');
      const peer = await makeUser(other);
      const room = await makeRoom(root, [peer]);
      const seg = await openDoc(connectSocket(other.wsUrl), `room:${room.id}:0`, root.token);
      post(seg.doc, root.id, '백업 전에 보낸 메시지');
      await acked(seg.provider);
      const r = await root.api('POST', '/api/admin/backup');
      expect(r.status).toBe(200);
      expect(r.body.backup).toMatchObject({ ok: true, verified: true, error: null });
      expect(fsm.existsSync(pathm.join(r.body.backup.path, 'manifest.json'))).toBe(true);
      const stats = (await root.api('GET', '/api/admin/stats')).body;
      expect(stats).toMatchObject({ backupConfigured: true, lastBackup: { ok: true, verified: true, path: r.body.backup.path } });
      const entries = (await root.api('GET', '/api/admin/audit?action=admin.backup')).body.entries;
      expect(entries).toHaveLength(1);
      seg.provider.configuration.websocketProvider.destroy();
    } finally {
      await other.close();
      fsm.rmSync(backupDir, { recursive: true, force: true });
    }
  }, 60_000);
});
