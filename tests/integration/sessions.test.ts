/**
 * Sessions over HTTP and /collab: listing and revoking, logout, and a password change that ends
 * every other session — on HTTP at once and on live sockets within one second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketStatus } from '@hocuspocus/provider';
import { startServer, makeUser, makeRoom, apiClient, waitFor, sleep, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, acked } from '../helpers/collab.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

/** A second (third, …) session of the same user, as from another device. */
async function loginAgain(u: TestUser, password = 'password123') {
  const r = await apiClient(server.url)('POST', '/api/login', { username: u.username, password }, { 'user-agent': 'second-device' });
  expect(r.status).toBe(200);
  return { token: r.body.token as string, id: (r.body.token as string).split('.')[0], api: apiClient(server.url, r.body.token) };
}

/** Watches a multiplexed socket: when it first went down, and with which close reasons. */
function watchSocket(socket: ReturnType<typeof connectSocket>) {
  const seen = { disconnectedAt: 0 };
  socket.on('status', ({ status }: { status: WebSocketStatus }) => {
    if (status === WebSocketStatus.Disconnected && !seen.disconnectedAt) seen.disconnectedAt = Date.now();
  });
  return seen;
}

describe('the session list', () => {
  it('shows every session of the user with the current one marked, and nobody else’s', async () => {
    const u = await makeUser(server);
    const second = await loginAgain(u);
    await makeUser(server);
    const r = await u.api('GET', '/api/me/sessions');
    expect(r.status).toBe(200);
    const byId = Object.fromEntries(r.body.sessions.map((s: { id: string }) => [s.id, s]));
    expect(Object.keys(byId).sort()).toEqual([u.token.split('.')[0], second.id].sort());
    expect(byId[u.token.split('.')[0]].current).toBe(true);
    expect(byId[second.id]).toMatchObject({ current: false, userAgent: 'second-device' });
    expect(byId[second.id].expiresAt).toBeGreaterThan(Date.now());
    expect(JSON.stringify(r.body)).not.toContain(u.token.split('.')[1]);
  });
});

describe('revoking one session', () => {
  it('ends it on HTTP and closes its live socket; the revoking session goes on', async () => {
    const u = await makeUser(server);
    const other = await makeUser(server);
    const room = await makeRoom(u, [other]);
    const second = await loginAgain(u);
    const socket = connectSocket(server.wsUrl);
    const seg = await openDoc(socket, `room:${room.id}:0`, second.token);

    const r = await u.api('DELETE', `/api/me/sessions/${second.id}`);
    expect(r.status).toBe(204);
    const me = await second.api('GET', '/api/me');
    expect([me.status, me.body.error.code]).toEqual([401, 'session-revoked']);
    await waitFor(() => seg.closes.includes('session-revoked'), { timeout: 1000, message: 'the revoked socket to close' });
    expect((await u.api('GET', '/api/me')).status).toBe(200);
    socket.destroy();
  });

  it("of someone else is 404 not-found, like a session that does not exist, and leaves it alone", async () => {
    const [u, victim] = [await makeUser(server), await makeUser(server)];
    const victimId = victim.token.split('.')[0];
    const foreign = await u.api('DELETE', `/api/me/sessions/${victimId}`);
    const unknown = await u.api('DELETE', '/api/me/sessions/doesnotexist');
    expect(foreign).toEqual({ status: 404, body: { error: { code: 'not-found', message: expect.any(String) } } });
    expect(foreign).toEqual(unknown);
    expect((await victim.api('GET', '/api/me')).status).toBe(200);
  });
});

describe('logout', () => {
  it('ends the session and clears the cookie', async () => {
    const u = await makeUser(server);
    const r = await fetch(`${server.url}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${u.token}` } });
    expect(r.status).toBe(204);
    expect(r.headers.getSetCookie().find((c) => c.startsWith('session='))).toMatch(/^session=;.*Max-Age=0/);
    expect((await u.api('GET', '/api/me')).status).toBe(401);
  });

  it('by cookie needs our own origin (a foreign page cannot log the user out)', async () => {
    const u = await makeUser(server);
    const cookie = `session=${encodeURIComponent(u.token)}`;
    const foreign = await fetch(`${server.url}/api/logout`, { method: 'POST', headers: { cookie, origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect((await u.api('GET', '/api/me')).status).toBe(200);
    const own = await fetch(`${server.url}/api/logout`, { method: 'POST', headers: { cookie, origin: server.url } });
    expect(own.status).toBe(204);
    expect((await u.api('GET', '/api/me')).status).toBe(401);
  });

  it('without a session still answers 204', async () => {
    expect((await fetch(`${server.url}/api/logout`, { method: 'POST' })).status).toBe(204);
  });
});

describe('a password change', () => {
  it('ends every other session on HTTP and closes their live documents within 1 s; the changing session keeps working', async () => {
    const u = await makeUser(server);
    const peer = await makeUser(server);
    const room = await makeRoom(u, [peer]);
    const seg = `room:${room.id}:0`;
    const others = [await loginAgain(u), await loginAgain(u)];

    // the other devices: one socket each, with a segment and the head open
    const otherSockets = others.map(() => connectSocket(server.wsUrl));
    const watched = otherSockets.map(watchSocket);
    const otherDocs = await Promise.all(
      others.flatMap((s, i) => [openDoc(otherSockets[i], seg, s.token), openDoc(otherSockets[i], `room:${room.id}`, s.token)]),
    );
    for (const d of otherDocs) expect(d.provider.isSynced).toBe(true);
    // this device and the peer
    const mySocket = connectSocket(server.wsUrl);
    const mine = await openDoc(mySocket, seg, u.token);
    const peerSocket = connectSocket(server.wsUrl);
    const peerDoc = await openDoc(peerSocket, seg, peer.token);

    const sentAt = Date.now();
    const r = await u.api('PUT', '/api/me/password', { currentPassword: 'password123', newPassword: 'brandnew456' });
    const changedAt = Date.now();
    expect(r.status).toBe(204);

    await waitFor(() => otherDocs.every((d) => d.closes.includes('session-revoked')), { timeout: 1000, message: 'every other document to close' });
    await waitFor(() => watched.every((w) => w.disconnectedAt > 0), { timeout: 1000, message: 'every other socket to drop' });
    for (const w of watched) {
      expect(w.disconnectedAt).toBeGreaterThanOrEqual(sentAt);
      expect(w.disconnectedAt - changedAt).toBeLessThan(1000);
    }

    for (const s of others) {
      const me = await s.api('GET', '/api/me');
      expect([me.status, me.body.error.code]).toEqual([401, 'session-revoked']);
    }
    // the providers reconnect by themselves and are turned away
    await waitFor(() => otherDocs.every((d) => d.denied.includes('unauthorized')), { message: 'reconnects to be refused' });

    // the changing session: HTTP and its live document go on; the ended ones receive nothing more
    expect((await u.api('GET', '/api/me')).status).toBe(200);
    const id = post(mine.doc, u.id, 'still here');
    await acked(mine.provider);
    await waitFor(() => messagesOf(peerDoc.doc).has(id), { message: 'the peer to receive the message' });
    await sleep(100);
    for (const d of otherDocs) expect(messagesOf(d.doc).has(id)).toBe(false);

    const old = await apiClient(server.url)('POST', '/api/login', { username: u.username, password: 'password123' });
    expect(old.status).toBe(401);
    const fresh = await apiClient(server.url)('POST', '/api/login', { username: u.username, password: 'brandnew456' });
    expect(fresh.status).toBe(200);

    for (const s of [...otherSockets, mySocket, peerSocket]) s.destroy();
  });

  it('is refused with the wrong current password (401 invalid-credentials) and then ends nothing', async () => {
    const u = await makeUser(server);
    const second = await loginAgain(u);
    const r = await u.api('PUT', '/api/me/password', { currentPassword: 'password124', newPassword: 'brandnew456' });
    expect([r.status, r.body.error.code]).toEqual([401, 'invalid-credentials']);
    const weak = await u.api('PUT', '/api/me/password', { currentPassword: 'password123', newPassword: 'weak' });
    expect([weak.status, weak.body.error.code]).toEqual([400, 'weak-password']);
    expect((await second.api('GET', '/api/me')).status).toBe(200);
    expect((await u.api('GET', '/api/me')).status).toBe(200);
  });

  it('also closes a cookie-authenticated socket of another session', async () => {
    const u = await makeUser(server);
    const peer = await makeUser(server);
    const room = await makeRoom(u, [peer]);
    const second = await loginAgain(u);
    const socket = connectSocket(server.wsUrl, { headers: { cookie: `session=${encodeURIComponent(second.token)}`, origin: server.url } });
    const watched = watchSocket(socket);
    const doc = await openDoc(socket, `room:${room.id}:0`, '');
    expect(doc.provider.isSynced).toBe(true);

    const r = await u.api('PUT', '/api/me/password', { currentPassword: 'password123', newPassword: 'brandnew456' });
    const changedAt = Date.now();
    expect(r.status).toBe(204);
    await waitFor(() => watched.disconnectedAt > 0, { timeout: 1000, message: 'the cookie socket to drop' });
    expect(watched.disconnectedAt - changedAt).toBeLessThan(1000);
    expect(doc.closes).toContain('session-revoked');
    socket.destroy();
  });
});
