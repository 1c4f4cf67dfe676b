/**
 * Durability: a server child process is killed with SIGKILL in the middle of a burst of messages;
 * after a restart on the same data directory, every message that any client saw is there: every one
 * acknowledged to its author, and every one any other member received (nothing is sent before it is
 * durable). Each author's messages keep their writing order in the receipts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as Y from 'yjs';
import { apiClient, waitFor, type TestUser } from '../helpers/server.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { newId } from '../helpers/collab.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-durability-'));
const children: ChildProcess[] = [];

async function startChild(): Promise<{ child: ChildProcess; url: string; wsUrl: string }> {
  const child = fork(path.resolve('server/main.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent', SQLITE_SYNCHRONOUS: 'FULL' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/collab` };
}

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('durability', () => {
  it('keeps every acknowledged message across a SIGKILL in the middle of a burst', async () => {
    const first = await startChild();
    const anon = apiClient(first.url);
    const users: TestUser[] = [];
    // registration allows 5 per minute per IP: the other five are made as an operator does (before any
    // request, so that no idle keep-alive connection is closed under the client while the script runs), then log in
    for (let i = 5; i < 10; i++) execFileSync(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'create', '--username', `dur_${i}`, '--password', 'password123'], { env: { ...process.env, DATA_DIR: dataDir }, stdio: 'pipe' });
    for (let i = 0; i < 10; i++) {
      const r = i < 5
        ? await anon('POST', '/api/register', { username: `dur_${i}`, password: 'password123' })
        : await anon('POST', '/api/login', { username: `dur_${i}`, password: 'password123' });
      users.push({ id: r.body.user.id, username: `dur_${i}`, token: r.body.token, api: apiClient(first.url, r.body.token) });
    }
    const room = await users[0].api('POST', '/api/rooms', { name: 'durable', memberIds: users.slice(1).map((u) => u.id) });
    const seg = `room:${room.body.room.id}:0`;
    // three members who only read: whatever reaches them must survive the kill
    const receivers = await Promise.all(users.splice(7).map(async (u) => {
      const c = new RawClient(first.wsUrl);
      return { c, d: await c.open(seg, u.token) };
    }));

    // every writer pipelines its messages (the per-user rate allows 30 per 10 s: 25 each)
    const acked = new Set<string>();
    const writers = await Promise.all(users.map(async (u) => {
      const c = new RawClient(first.wsUrl);
      const d = await c.open(seg, u.token);
      const sent: string[] = [];
      d.doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin !== 'server') c.sendUpdate(seg, update);
      });
      return { u, c, d, sent };
    }));
    const ackWatch = setInterval(() => {
      for (const w of writers) w.d.statuses.forEach((ok, i) => ok && acked.add(w.sent[i]));
    }, 1);
    for (let i = 0; i < 25; i++) {
      for (const w of writers) {
        const id = newId();
        w.sent.push(id);
        w.d.doc.getMap<Message>('messages').set(id, { id, author: w.u.id, text: `burst ${i} from ${w.u.username}`, createdAt: Date.now() });
      }
      if (i === 5) await waitFor(() => acked.size >= 40, { timeout: 10_000, message: 'first acknowledgements' });
    }
    // kill while acknowledgements are still coming in
    await waitFor(() => acked.size >= 60, { timeout: 10_000, message: 'mid-burst' });
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    clearInterval(ackWatch);
    for (const w of writers) w.d.statuses.forEach((ok, i) => ok && acked.add(w.sent[i]));
    for (const w of writers) w.c.close();
    const seen = new Set<string>();
    for (const r of receivers) {
      for (const id of r.d.doc.getMap('messages').keys()) seen.add(id);
      r.c.close();
    }
    const total = writers.reduce((n, w) => n + w.sent.length, 0);
    expect(acked.size).toBeGreaterThanOrEqual(60);
    console.log(`durability: ${acked.size} of ${total} messages acknowledged before SIGKILL, ${seen.size} received by other members`);

    const second = await startChild();
    const reader = new RawClient(second.wsUrl);
    const d = await reader.open(seg, users[0].token);
    const messages = d.doc.getMap<Message>('messages');
    const missing = [...acked].filter((id) => !messages.has(id));
    expect(missing).toEqual([]);
    expect([...seen].filter((id) => !messages.has(id))).toEqual([]);
    // receipts are complete after the restart (repaired on load if the crash came between)
    const receipts = d.doc.getMap<{ seq: number }>('receipts');
    await waitFor(() => [...messages.keys()].every((id) => receipts.has(id)), { message: 'receipts' });
    const seqs = [...receipts.values()].map((r) => r.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const w of writers) {
      const kept = w.sent.filter((id) => receipts.has(id)).map((id) => receipts.get(id)!.seq);
      expect(kept).toEqual([...kept].sort((a, b) => a - b));
    }
    reader.close();
    second.child.kill('SIGTERM');
  }, 60_000);
});
