/** The user document `user:<id>`: the room list, offline-ready and pushed, readable by its owner only. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, type TestServer } from '../helpers/server.ts';
import { connectSocket, openDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import type { RoomEntry } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const rooms = (doc: Y.Doc) => doc.getMap<RoomEntry>('rooms');

describe('user document', () => {
  it('lists my rooms and pushes new rooms, renames, prefs and removals', async () => {
    const alice = await makeUser(server);
    const bob = await makeUser(server);
    const direct = (await bob.api('POST', '/api/rooms', { memberIds: [alice.id] })).body.room;
    const socket = connectSocket(server.wsUrl);
    const mine = await openDoc(socket, `user:${alice.id}`, alice.token);
    expect(mine.doc.getMap('profile').get('username')).toBe(alice.username);
    expect(rooms(mine.doc).get(direct.id)).toBeDefined();

    const group = await makeRoom(bob, [alice], { name: 'Team' });
    await waitFor(() => rooms(mine.doc).get(group.id)?.name === 'Team', { message: 'new room pushed' });
    expect(rooms(mine.doc).get(group.id)).toMatchObject({ kind: 'group', role: 'member', pinned: false, muted: false });

    await bob.api('PATCH', `/api/rooms/${group.id}`, { name: '팀 회의' });
    await waitFor(() => rooms(mine.doc).get(group.id)?.name === '팀 회의', { message: 'rename' });
    await alice.api('PUT', `/api/rooms/${group.id}/prefs`, { pinned: true, muted: true });
    await waitFor(() => rooms(mine.doc).get(group.id)?.pinned === true && rooms(mine.doc).get(group.id)?.muted === true, { message: 'prefs' });
    await bob.api('PATCH', '/api/me', { displayName: 'Bobby' });
    await waitFor(() => rooms(mine.doc).get(direct.id)?.peer?.displayName === 'Bobby', { message: 'peer name' });

    await bob.api('DELETE', `/api/rooms/${group.id}/members/${alice.id}`);
    await waitFor(() => !rooms(mine.doc).has(group.id), { message: 'removal' });
    socket.destroy();
  });

  it('is readable by its owner only and written by the server only', async () => {
    const alice = await makeUser(server);
    const mallory = await makeUser(server);
    const c = new RawClient(server.wsUrl);
    expect((await c.open(`user:${alice.id}`, mallory.token)).denied).toBe('not-found');
    const own = await c.open(`user:${mallory.id}`, mallory.token);
    expect(own.authenticated).toBe(true);
    const verdict = await c.attempt(`user:${mallory.id}`, c.craft(`user:${mallory.id}`, (doc) => doc.getMap('profile').set('isAdmin', true)));
    expect(verdict).toEqual({ accepted: false, reason: 'read-only' });
    c.close();
  });
});
