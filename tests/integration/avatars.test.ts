/**
 * Profile photos over HTTP: `POST /api/me/avatar` stores a 256 px WebP of any image; a non-image
 * and an oversized body are refused with stable codes and change nothing; `GET /api/users/:id/avatar`
 * serves the photo to logged-in users only; deleting the account deletes the photo. A new photo (and
 * its removal, `DELETE /api/me/avatar`) reaches the other members live, in the head document's
 * members, in the peer's room list and in REST; pixel bombs are refused from their header.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { startServer, makeUser, makeRoom, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc } from '../helpers/collab.ts';
import { AVATAR_MAX_BYTES } from '../../server/files/avatars.ts';
import { HEAD_MEMBERS, USER_PROFILE, USER_ROOMS, type Member, type RoomEntry } from '../../src/lib/protocol/schema.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  server = await startServer();
  alice = await makeUser(server);
  bob = await makeUser(server);
});
afterAll(() => server.close());

const png = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 40, b: 40 } } }).png().toBuffer();

async function upload(token: string | null, body: Buffer, type = 'image/png') {
  return fetch(`${server.url}/api/me/avatar`, {
    method: 'POST',
    headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: new Uint8Array(body),
  });
}

async function avatarOf(token: string | null, userId: string) {
  return fetch(`${server.url}/api/users/${userId}/avatar`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe('profile photos', () => {
  it('stores any image as a 256×256 WebP that other logged-in users can read', async () => {
    const res = await upload(alice.token, await png(900, 600));
    expect(res.status).toBe(200);
    const { user } = (await res.json()) as { user: { id: string; avatarAt?: number } };
    expect(user.id).toBe(alice.id);
    expect(user.avatarAt).toBeGreaterThan(0);

    const got = await avatarOf(bob.token, alice.id);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/webp');
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    const meta = await sharp(Buffer.from(await got.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 256, height: 256 });

    // the profile says so, for everyone who looks the user up
    const me = await alice.api('GET', '/api/me');
    expect(me.body.user.avatarAt).toBe(user.avatarAt);
    const found = await bob.api('GET', `/api/users?q=${alice.username}`);
    expect(found.body.users.find((u: { id: string }) => u.id === alice.id).avatarAt).toBe(user.avatarAt);
  });

  it('refuses bytes that are not an image, whatever type the client claims, and keeps the old photo', async () => {
    const before = (await alice.api('GET', '/api/me')).body.user.avatarAt;
    const res = await upload(alice.token, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'image/png');
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not-an-image');
    const pdf = await upload(alice.token, Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n'), 'image/jpeg');
    expect(pdf.status).toBe(415);
    expect((await alice.api('GET', '/api/me')).body.user.avatarAt).toBe(before);
    expect((await avatarOf(bob.token, alice.id)).status).toBe(200);
  });

  it('refuses a body over the limit with file-too-large (positive control: a small image passes)', async () => {
    const big = Buffer.alloc(AVATAR_MAX_BYTES + 1024, 0x41);
    const res = await upload(bob.token, big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('file-too-large');
    expect((await avatarOf(alice.token, bob.id)).status).toBe(404);
    expect((await bob.api('GET', '/api/me')).body.user.avatarAt).toBeUndefined();
    expect((await upload(bob.token, await png(64, 64))).status).toBe(200);
    expect((await avatarOf(alice.token, bob.id)).status).toBe(200);
  });

  it('is for logged-in users only, in both directions', async () => {
    expect((await upload(null, await png(10, 10))).status).toBe(401);
    expect((await avatarOf(null, alice.id)).status).toBe(401);
    // a cookie write from another origin is refused like every other write
    const cross = await fetch(`${server.url}/api/me/avatar`, {
      method: 'POST',
      headers: { 'content-type': 'image/png', cookie: `session=${encodeURIComponent(alice.token)}`, origin: 'http://evil.example' },
      body: new Uint8Array(await png(10, 10)),
    });
    expect(cross.status).toBe(403);
  });

  it('answers 404 for a user without a photo and for an unknown user alike', async () => {
    const carol = await makeUser(server);
    const none = await avatarOf(alice.token, carol.id);
    const unknown = await avatarOf(alice.token, 'nobody-like-this-1234');
    expect(none.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(await none.json()).toEqual(await unknown.json());
  });

  it('deletes the photo with the account', async () => {
    const dave = await makeUser(server);
    expect((await upload(dave.token, await png(300, 300))).status).toBe(200);
    const file = server.app.services.fileStore.avatarPath(dave.id);
    expect(fs.existsSync(file)).toBe(true);
    expect((await dave.api('DELETE', '/api/me', { password: 'password123' })).status).toBe(204);
    expect(fs.existsSync(file)).toBe(false);
    expect((await avatarOf(alice.token, dave.id)).status).toBe(404);
  });
});

describe('a new photo reaches the other members', () => {
  let erin: TestUser, frank: TestUser;
  let groupId: string, directId: string;
  let sockets: ReturnType<typeof connectSocket>[];
  beforeAll(async () => {
    [erin, frank] = await Promise.all([makeUser(server), makeUser(server)]);
    groupId = (await makeRoom(erin, [frank], { name: 'photos' })).id;
    directId = (await frank.api('POST', '/api/rooms', { memberIds: [erin.id] })).body.room.id;
    sockets = [connectSocket(server.wsUrl), connectSocket(server.wsUrl)];
  });
  afterAll(() => sockets.forEach((s) => s.destroy()));

  it('live in the head document and the room list, in REST, and back to nothing on removal', async () => {
    // frank is connected before erin changes anything: what he has must change under him
    const head = await openDoc(sockets[0], `room:${groupId}`, frank.token);
    const list = await openDoc(sockets[1], `user:${frank.id}`, frank.token);
    const own = await openDoc(sockets[1], `user:${erin.id}`, erin.token);
    const member = () => head.doc.getMap<Member>(HEAD_MEMBERS).get(erin.id);
    const peer = () => list.doc.getMap<RoomEntry>(USER_ROOMS).get(directId)?.peer;
    expect(member()).toBeDefined();
    expect(member()!.avatarAt).toBeUndefined();
    expect(peer()?.id).toBe(erin.id);
    expect(peer()!.avatarAt).toBeUndefined();

    const res = await upload(erin.token, await png(400, 400));
    expect(res.status).toBe(200);
    const at = ((await res.json()) as { user: { avatarAt: number } }).user.avatarAt;
    await waitFor(() => member()?.avatarAt === at && peer()?.avatarAt === at && own.doc.getMap(USER_PROFILE).get('avatarAt') === at, { message: 'the photo version in the head, the peer and the profile' });
    // REST says the same: the room's members and the room list
    const detail = await frank.api('GET', `/api/rooms/${groupId}`);
    expect(detail.body.room.members.find((m: { id: string }) => m.id === erin.id).avatarAt).toBe(at);
    const rooms = await frank.api('GET', '/api/rooms');
    expect(rooms.body.rooms.find((r: { id: string }) => r.id === directId).peer.avatarAt).toBe(at);
    expect((await avatarOf(frank.token, erin.id)).status).toBe(200);

    // a second photo is a new version (a new URL for every cache)
    const again = ((await (await upload(erin.token, await png(300, 200))).json()) as { user: { avatarAt: number } }).user.avatarAt;
    expect(again).toBeGreaterThan(at);
    await waitFor(() => member()?.avatarAt === again && peer()?.avatarAt === again, { message: 'the second version' });

    // removal: 204, the version leaves every copy, the file is gone, and a second removal is harmless
    const file = server.app.services.fileStore.avatarPath(erin.id);
    expect((await erin.api('DELETE', '/api/me/avatar')).status).toBe(204);
    await waitFor(() => member() !== undefined && member()!.avatarAt === undefined && peer() != null && peer()!.avatarAt === undefined && !own.doc.getMap(USER_PROFILE).has('avatarAt'), {
      message: 'the version cleared in the head, the peer and the profile',
    });
    expect(fs.existsSync(file)).toBe(false);
    expect((await avatarOf(frank.token, erin.id)).status).toBe(404);
    expect((await erin.api('GET', '/api/me')).body.user.avatarAt).toBeUndefined();
    expect((await frank.api('GET', `/api/rooms/${groupId}`)).body.room.members.find((m: { id: string }) => m.id === erin.id).avatarAt).toBeUndefined();
    expect((await erin.api('DELETE', '/api/me/avatar')).status).toBe(204);
    // the name is still there: only the photo went
    expect(member()!.username).toBe(erin.username);
  });

  it('uploads and removals racing each other leave a version and a file that agree', async () => {
    const ivy = await makeUser(server);
    const pic = await png(500, 500);
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([upload(ivy.token, pic), ivy.api('DELETE', '/api/me/avatar'), upload(ivy.token, pic), ivy.api('DELETE', '/api/me/avatar'), upload(ivy.token, pic)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 204, 204]);
      const at = (await ivy.api('GET', '/api/me')).body.user.avatarAt;
      const got = await avatarOf(alice.token, ivy.id);
      expect({ round, hasVersion: at !== undefined, served: got.status }).toEqual({ round, hasVersion: got.status === 200, served: got.status });
      expect(fs.existsSync(server.app.services.fileStore.avatarPath(ivy.id))).toBe(at !== undefined);
    }
  });

  it('audits setting and removing a photo, and only the owner can remove it', async () => {
    const gina = await makeUser(server);
    expect((await upload(gina.token, await png(64, 64))).status).toBe(200);
    expect((await fetch(`${server.url}/api/me/avatar`, { method: 'DELETE' })).status).toBe(401);
    // a cookie write from another origin is refused like every other write
    const cross = await fetch(`${server.url}/api/me/avatar`, { method: 'DELETE', headers: { cookie: `session=${encodeURIComponent(gina.token)}`, origin: 'http://evil.example' } });
    expect(cross.status).toBe(403);
    expect((await avatarOf(alice.token, gina.id)).status).toBe(200);
    expect((await gina.api('DELETE', '/api/me/avatar')).status).toBe(204);
    const { entries } = server.app.services.audit.query({ actor: gina.id, action: null, room: null, from: null, to: null, limit: 10, offset: 0 });
    expect(entries.map((e) => e.action).sort()).toEqual(['profile.avatar-remove', 'profile.avatar-set']);
    expect(entries.every((e) => e.targetId === gina.id)).toBe(true);
  });
});

// ---- pixel bombs: a few bytes that claim a huge image ----------------------------------------

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A valid PNG header declaring `w`×`h` RGBA, with a tiny deflate stream of zeros (a classic bomb). */
function pngBomb(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const idat = zlib.deflateSync(Buffer.alloc(1024 * 1024)); // the first rows of zeros: ~1 KB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}
/** A real small JPEG whose frame header (SOF0) is rewritten to claim `w`×`h`. */
async function jpegClaiming(w: number, h: number): Promise<Buffer> {
  const jpg = Buffer.from(await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } }).jpeg().toBuffer());
  for (let i = 2; i < jpg.length - 9; ) {
    if (jpg[i] !== 0xff) break;
    const marker = jpg[i + 1];
    const len = jpg.readUInt16BE(i + 2);
    if (marker === 0xc0 || marker === 0xc2) {
      jpg.writeUInt16BE(h, i + 5);
      jpg.writeUInt16BE(w, i + 7);
      return jpg;
    }
    i += 2 + len;
  }
  throw new Error('no SOF marker');
}
/** A real small lossless WebP whose VP8L header is rewritten to claim `w`×`h` (14 bits each; libwebp takes at most 16383). */
async function webpClaiming(w: number, h: number): Promise<Buffer> {
  const webp = Buffer.from(await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } }).webp({ lossless: true }).toBuffer());
  const at = webp.indexOf('VP8L', 12, 'latin1');
  if (at < 0 || webp[at + 8] !== 0x2f) throw new Error('no VP8L chunk');
  // after the signature byte: width-1 (14 bits), height-1 (14 bits), alpha (1), version (3), little-endian
  const bits = webp.readUInt32LE(at + 9);
  webp.writeUInt32LE(((bits & 0xf0000000) | ((h - 1) << 14) | (w - 1)) >>> 0, at + 9);
  return webp;
}

describe('pixel bombs', () => {
  it('are refused with a 4xx from their header, quickly and without a memory spike (positive control: the same formats at a sane size pass)', async () => {
    const harry = await makeUser(server);
    const bombs: [string, Buffer, string][] = [
      ['png 50000×50000', pngBomb(50_000, 50_000), 'image/png'],
      ['png 1×40000001', pngBomb(1, 40_000_001), 'image/png'],
      ['jpeg 65000×65000', await jpegClaiming(65_000, 65_000), 'image/jpeg'],
      ['webp 16000×16000', await webpClaiming(16_000, 16_000), 'image/webp'],
    ];
    for (const [label, body] of bombs) expect(body.length, label).toBeLessThan(20_000);
    const rssBefore = process.memoryUsage().rss;
    const codes: Record<string, string | undefined> = {};
    for (const [label, body, type] of bombs) {
      const started = performance.now();
      const res = await upload(harry.token, body, type);
      const code = ((await res.json()) as { error?: { code: string } }).error?.code;
      codes[label] = code;
      expect({ label, status: res.status, code }).toEqual({ label, status: expect.any(Number), code: expect.stringMatching(/^(not-an-image|file-too-large)$/) });
      expect(res.status, label).toBeGreaterThanOrEqual(400);
      expect(res.status, label).toBeLessThan(500);
      expect(performance.now() - started, `${label} answered quickly`).toBeLessThan(3000);
    }
    // decoding any of them would take gigabytes; refusing them takes next to nothing
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
    expect((await harry.api('GET', '/api/me')).body.user.avatarAt).toBeUndefined();
    // refused for their size, not for being broken (the JPEG's rewritten frame may read as either)
    expect(codes['png 50000×50000']).toBe('file-too-large');
    expect(codes['png 1×40000001']).toBe('file-too-large');
    expect(codes['webp 16000×16000']).toBe('file-too-large');

    // positive control: the untouched small images of each format are accepted
    expect((await upload(harry.token, await png(16, 16))).status).toBe(200);
    expect((await upload(harry.token, Buffer.from(await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } }).jpeg().toBuffer()), 'image/jpeg')).status).toBe(200);
    expect((await upload(harry.token, await webpClaiming(16, 16), 'image/webp')).status).toBe(200);
  });
});
