/**
 * Profile photos over HTTP: `POST /api/me/avatar` stores a 256 px WebP of any image; a non-image
 * and an oversized body are refused with stable codes and change nothing; `GET /api/users/:id/avatar`
 * serves the photo to logged-in users only; deleting the account deletes the photo.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { startServer, makeUser, type TestServer, type TestUser } from '../helpers/server.ts';
import { AVATAR_MAX_BYTES } from '../../server/files/avatars.ts';

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
