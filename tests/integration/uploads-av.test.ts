/**
 * Issue 8 §7 with a real ClamAV daemon (Debian's clamd, our own one-line signature database for the
 * EICAR test file): uploads wait in quarantine, only clean files get a token and become
 * downloadable, infected ones are deleted and reported, clamd being down leaves files quarantined
 * with `error` (never clean) until it is back, and a restart keeps the queue.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../server/index.ts';
import { loadConfig } from '../../server/config.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { apiClient, makeRoom, makeUser, TEST_LIMITS, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, receiptsOf, acked } from '../helpers/collab.ts';
import { EICAR, requireClamd, startClamd, type TestClamd } from '../helpers/clamd.ts';
import { attachmentOf, pdf, png, uploadTo } from '../helpers/uploads.ts';
import { RawClient } from '../helpers/raw-client.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

const here = requireClamd('tests/integration/uploads-av.test.ts');
const LIMITS = { ...TEST_LIMITS, upload: { ...RATE_LIMITS.upload, points: 10_000 } };

/** A server on a data directory that outlives it (to restart on the same disk). */
async function serverOn(dataDir: string, socket: string): Promise<TestServer> {
  const config = loadConfig({}, { dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent', sqliteSynchronous: 'NORMAL', avScan: 'clamav', clamdSocket: socket });
  const app: App = await createApp(config, { log: pino({ level: process.env.TEST_LOG ?? 'silent' }), rateLimits: LIMITS, scanRetryMs: 100 });
  const port = await app.listen(0, '127.0.0.1');
  return { app, dataDir, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/collab`, close: () => app.close() };
}

describe.skipIf(!here)('uploads with AV_SCAN=clamav', () => {
  let clamd: TestClamd;
  let dataDir: string;
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  beforeAll(async () => {
    clamd = await startClamd();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-av-'));
    server = await serverOn(dataDir, clamd.socket);
    [alice, bob] = await Promise.all([makeUser(server), makeUser(server)]);
    roomId = (await makeRoom(alice, [bob])).id;
  });
  afterAll(async () => {
    await server?.close();
    await clamd?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const job = (user: TestUser, id: string) => apiClient(server.url, user.token)('GET', `/api/upload/jobs/${id}`);
  const download = (user: TestUser, id: string) => fetch(`${server.url}/api/files/${id}`, { headers: { authorization: `Bearer ${user.token}` } });
  const onDisk = (dir: string) => fs.readdirSync(path.join(server.dataDir, 'uploads', dir));

  it('/api/config says uploads are scanned', async () => {
    expect((await apiClient(server.url)('GET', '/api/config')).body.uploads.av).toBe(true);
  });

  it('a clean PDF waits in quarantine, then becomes clean with a token, and is downloadable once sent', async () => {
    const r = await uploadTo(server, alice, roomId, '보고서.pdf', pdf());
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ token: null, job: { id: r.body.file.id, state: 'queued' } });
    const done = await waitFor(async () => {
      const j = await job(alice, r.body.file.id);
      return j.body.job.state === 'clean' && j.body;
    }, { message: 'scan clean' });
    expect(done.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(onDisk('quarantine')).not.toContain(r.body.file.id);
    expect(onDisk('files')).toContain(r.body.file.id);
    // the job is its owner's only
    expect((await job(bob, r.body.file.id)).status).toBe(404);
    const seg = await openDoc(connectSocket(server.wsUrl), `room:${roomId}:0`, alice.token);
    const id = post(seg.doc, alice.id, '', { attachments: [attachmentOf({ file: done.file, token: done.token })], text: '' } as Partial<Message>);
    await acked(seg.provider);
    await waitFor(() => receiptsOf(seg.doc).get(id), { message: 'receipt' });
    const d = await download(bob, r.body.file.id);
    expect(d.status).toBe(200);
    expect(Buffer.from(await d.arrayBuffer()).equals(pdf())).toBe(true);
    seg.provider.configuration.websocketProvider.destroy();
  });

  it('an EICAR upload is rejected and deleted, reported to the uploader, and never downloadable', async () => {
    const r = await uploadTo(server, alice, roomId, 'eicar.txt', EICAR);
    expect(r.body.job.state).toBe('queued');
    const id = r.body.file.id;
    let everServed = false;
    const final = await waitFor(async () => {
      if ((await download(alice, id)).status !== 404) everServed = true;
      const j = await job(alice, id);
      return j.body.job.state === 'rejected' && j.body;
    }, { message: 'rejected' });
    expect(everServed).toBe(false);
    expect(final.job.reason).toMatch(/^infected: .*EICAR/i);
    expect(final.token).toBeNull();
    expect(onDisk('quarantine')).not.toContain(id);
    expect(onDisk('files')).not.toContain(id);
    expect((await download(alice, id)).status).toBe(404);
    // and no message can carry it, whatever token a client makes up
    const c = new RawClient(server.wsUrl);
    await c.open(`room:${roomId}:0`, alice.token);
    const msg = { id: 'eicar-msg-1', author: alice.id, text: '', createdAt: Date.now(), attachments: [{ id, token: 'x'.repeat(32), name: 'eicar.txt', size: EICAR.length, type: 'text/plain' }] };
    const verdict = await c.attempt(`room:${roomId}:0`, c.craft(`room:${roomId}:0`, (d) => d.getMap('messages').set(msg.id, msg)));
    expect(verdict).toEqual({ accepted: false, reason: 'file-not-ready' });
    c.close();
  });

  it('with clamd down, uploads stay quarantined with `error` (never clean); scanning resumes when clamd is back', async () => {
    await clamd.stop();
    const r = await uploadTo(server, alice, roomId, 'later.png', await png());
    expect(r.status).toBe(201);
    const errored = await waitFor(async () => {
      const j = await job(alice, r.body.file.id);
      return j.body.job.state === 'error' && j.body;
    }, { message: 'scan error' });
    expect(errored).toMatchObject({ token: null, job: { reason: 'scanner-unavailable' } });
    expect((await download(alice, r.body.file.id)).status).toBe(404);
    expect(onDisk('quarantine')).toContain(r.body.file.id);
    await clamd.start();
    const clean = await waitFor(async () => {
      const j = await job(alice, r.body.file.id);
      return j.body.job.state === 'clean' && j.body;
    }, { timeout: 10_000, message: 'clean after clamd is back' });
    expect(clean.file).toMatchObject({ width: 80, height: 40, thumb: true });
    expect((await download(alice, r.body.file.id)).status).toBe(200);
  });

  it('a restart keeps the quarantine queue', async () => {
    await clamd.stop();
    const r = await uploadTo(server, alice, roomId, 'restart.pdf', pdf('restart'));
    await waitFor(async () => (await job(alice, r.body.file.id)).body.job.state === 'error', { message: 'queued while clamd is down' });
    await server.close();
    await clamd.start();
    server = await serverOn(dataDir, clamd.socket);
    const clean = await waitFor(async () => (await job(alice, r.body.file.id)).body.job.state === 'clean', { timeout: 10_000, message: 'scanned after restart' });
    expect(clean).toBe(true);
  });
});
