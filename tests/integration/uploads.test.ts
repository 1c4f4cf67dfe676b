/**
 * Issue 8 over raw HTTP: the upload endpoint's contract (room_id on every path, size, type and
 * content checks, names, rate limit), downloads only for who can see the message, the room's file
 * list, deletion, limits published by /api/config and changed at runtime, and the orphan purge.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { startServer, makeUser, makeRoom, apiClient, TEST_LIMITS, waitFor, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked, type OpenDoc } from '../helpers/collab.ts';
import { upload, uploadTo, png, jpeg, pdf, attachmentOf } from '../helpers/uploads.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

const LIMITS = { ...TEST_LIMITS, upload: { ...RATE_LIMITS.upload, points: 10_000 } };
let server: TestServer;
let alice: TestUser; // room admin
let bob: TestUser; // member
let eve: TestUser; // outsider
let roomId: string;
let aliceSeg: OpenDoc;

beforeAll(async () => {
  server = await startServer({ uploadMaxBytes: 2 * 1024 * 1024 }, { rateLimits: LIMITS });
  [alice, bob, eve] = await Promise.all([makeUser(server), makeUser(server), makeUser(server)]);
  roomId = (await makeRoom(alice, [bob])).id;
  aliceSeg = await openDoc(connectSocket(server.wsUrl), `room:${roomId}:0`, alice.token);
});
afterAll(async () => {
  aliceSeg?.provider.configuration.websocketProvider.destroy();
  await server.close();
});

const get = (user: TestUser | null, p: string) => fetch(server.url + p, { headers: user ? { authorization: `Bearer ${user.token}` } : {} });
const filesOnDisk = (dir: string) => fs.readdirSync(path.join(server.dataDir, 'uploads', dir));

/** Posts a message carrying the upload through alice's real provider and waits for its receipt. */
async function attach(reply: { file: any; token: string }, doc: OpenDoc = aliceSeg, author = alice, text = ''): Promise<string> {
  const id = post(doc.doc, author.id, text || 'x', { attachments: [attachmentOf(reply)], text } as Partial<Message>);
  await acked(doc.provider);
  await waitFor(() => receiptsOf(doc.doc).get(id), { message: 'receipt' });
  return id;
}

describe('POST /api/upload', () => {
  it('stores an image, makes a thumbnail and answers with the file, a token and a clean job', async () => {
    const data = await png(800, 400);
    const r = await uploadTo(server, alice, roomId, 'photo.png', data);
    expect(r.status).toBe(201);
    expect(r.body.file).toMatchObject({ name: 'photo.png', size: data.length, type: 'image/png', width: 800, height: 400, thumb: true });
    expect(r.body.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(r.body.job).toEqual({ id: r.body.file.id, state: 'clean' });
    // the uploader may fetch it before sending (preview); nobody else yet
    const own = await get(alice, `/api/files/${r.body.file.id}`);
    expect(own.status).toBe(200);
    expect(Buffer.from(await own.arrayBuffer()).equals(data)).toBe(true);
    expect((await get(bob, `/api/files/${r.body.file.id}`)).status).toBe(404);
    const thumb = await get(alice, `/api/files/${r.body.file.id}/thumb`);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([480, 240]);
  });

  it('takes the orientation of a phone photo into account (EXIF 6: the stored 80×40 shows as 40×80)', async () => {
    const rotated = await sharp({ create: { width: 80, height: 40, channels: 3, background: '#888' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const r = await uploadTo(server, alice, roomId, 'phone.jpg', rotated);
    expect(r.body.file).toMatchObject({ width: 40, height: 80 });
  });

  it('refuses an upload without room_id on every shape of request: 400 room-id-required', async () => {
    const none = await upload(server, alice, {}, { name: 'a.png', data: await png() });
    expect(none).toMatchObject({ status: 400, body: { error: { code: 'room-id-required' } } });
    const empty = await upload(server, alice, { room_id: '  ' }, { name: 'a.png', data: await png() });
    expect(empty.body.error.code).toBe('room-id-required');
    // room_id after the file: the server does not write a byte before it knows the room
    const form = new FormData();
    form.append('file', new Blob([await png()]), 'a.png');
    form.append('room_id', roomId);
    const late = await fetch(`${server.url}/api/upload`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}` }, body: form });
    expect(late.status).toBe(400);
    expect((await late.json()).error.code).toBe('room-id-required');
    expect(filesOnDisk('tmp')).toEqual([]);
  });

  it('answers a non-member exactly as a missing room, and writes nothing', async () => {
    const before = filesOnDisk('files').length;
    const outsider = await uploadTo(server, eve, roomId, 'a.png', await png());
    const missing = await uploadTo(server, eve, 'NoSuchRoom123', 'a.png', await png());
    expect(outsider.status).toBe(404);
    expect(outsider.body).toEqual(missing.body);
    expect(filesOnDisk('files').length).toBe(before);
    expect(filesOnDisk('tmp')).toEqual([]);
  });

  it('refuses a file over the limit with 413 and stops reading the upload', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024 + 1, 'a');
    const r = await uploadTo(server, alice, roomId, 'big.txt', big);
    expect(r).toMatchObject({ status: 413, body: { error: { code: 'file-too-large' } } });
    // streamed without a length: the answer comes while the client is still sending, and the
    // connection is closed, so the server has not read the 50 MB the client meant to send
    const port = Number(new URL(server.url).port);
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const head = `--B\r\nContent-Disposition: form-data; name="room_id"\r\n\r\n${roomId}\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n`;
    sock.write(`POST /api/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\nContent-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\n`);
    let response = '';
    let closed = false;
    sock.on('data', (d) => (response += d.toString()));
    sock.on('close', () => (closed = true));
    sock.on('error', () => {});
    const chunk = (b: Buffer | string) => `${Buffer.byteLength(b).toString(16)}\r\n${b}\r\n`;
    sock.write(chunk(head));
    const block = Buffer.alloc(64 * 1024, 'a').toString();
    let written = 0;
    while (!response && !closed && written < 50_000_000) {
      if (!sock.write(chunk(block))) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); sock.once('data', r); });
      written += block.length;
    }
    await waitFor(() => response.includes('file-too-large') && closed, { message: '413 and close' });
    expect(response.startsWith('HTTP/1.1 413')).toBe(true);
    expect(written).toBeLessThan(20_000_000);
    sock.destroy();
    await waitFor(() => filesOnDisk('tmp').length === 0, { message: 'temp file removed' });
  });

  it('refuses a declared length over the limit before reading the body', async () => {
    const port = Number(new URL(server.url).port);
    const sock = net.connect(port, '127.0.0.1');
    let response = '';
    sock.on('data', (d) => (response += d.toString()));
    sock.on('error', () => {});
    sock.write(`POST /api/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 900000000\r\n\r\n`);
    await waitFor(() => response.includes('file-too-large'), { message: '413' });
    expect(response.startsWith('HTTP/1.1 413')).toBe(true);
    sock.destroy();
  });

  it('refuses extensions off the allow-list and content that does not match its extension', async () => {
    const cases: [string, Buffer, string][] = [
      ['tool.exe', Buffer.from('MZ\x90\x00'), 'file-type-not-allowed'],
      ['pic.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'file-type-not-allowed'],
      ['page.html', Buffer.from('<html><script>alert(1)</script></html>'), 'file-type-not-allowed'],
      ['noext', Buffer.from('hello'), 'file-type-not-allowed'],
      ['.png', await png(), 'file-type-not-allowed'],
      ['fake.png', Buffer.from('<html><script>alert(1)</script></html>'), 'file-content-mismatch'],
      ['fake.pdf', await png(), 'file-content-mismatch'],
      ['binary.txt', Buffer.from([0x48, 0x00, 0x49, 0x00]), 'file-content-mismatch'],
      ['fake.docx', pdf(), 'file-content-mismatch'],
      ['latin1.csv', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), 'file-content-mismatch'],
    ];
    for (const [name, data, code] of cases) {
      const r = await uploadTo(server, alice, roomId, name, data);
      expect([name, r.status, r.body?.error?.code]).toEqual([name, 400, code]);
    }
    // positive controls: real content under its own extension, any case of the extension
    for (const [name, data] of [['doc.PDF', pdf()], ['notes.txt', Buffer.from('회의록\n배포 일정')], ['photo.JPG', await jpeg()], ['empty.txt', Buffer.alloc(0)]] as [string, Buffer][]) {
      expect([name, (await uploadTo(server, alice, roomId, name, data)).status]).toEqual([name, 201]);
    }
  });

  it('keeps Korean names intact (NFC), strips directories, and stores under a server-chosen name', async () => {
    const nfd = '회의록 최종.txt'.normalize('NFD');
    const r = await uploadTo(server, alice, roomId, nfd, Buffer.from('내용'));
    expect(r.body.file.name).toBe('회의록 최종.txt'.normalize('NFC'));
    for (const evil of ['../../../etc/passwd.txt', '..\\..\\windows\\win.ini.txt', '/abs/path/x.txt', 'a\u202Etxt.exe.txt', 'x\u0000y.txt']) {
      const e = await uploadTo(server, alice, roomId, evil, Buffer.from('x'));
      expect(e.status).toBe(201);
      expect(e.body.file.name).not.toMatch(/[/\\\u0000\u202E]/);
    }
    // nothing outside uploads/, and every stored name is an id
    for (const dir of ['files', 'thumbs']) for (const name of filesOnDisk(dir)) expect(name).toMatch(/^[A-Za-z0-9_-]{8,64}(\.webp)?$/);
    expect(fs.existsSync(path.join(server.dataDir, 'etc'))).toBe(false);
    // the download carries the original name for any browser (RFC 5987)
    await attach(r.body);
    const d = await get(bob, `/api/files/${r.body.file.id}`);
    expect(d.status).toBe(200);
    expect(d.headers.get('content-disposition')).toBe(`attachment; filename="___ __.txt"; filename*=UTF-8''${encodeURIComponent('회의록 최종.txt')}`);
    expect(d.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('refuses what is not a multipart upload, and anonymous or cross-site uploads', async () => {
    const json = await alice.api('POST', '/api/upload', { room_id: roomId });
    expect(json).toMatchObject({ status: 415, body: { error: { code: 'multipart-required' } } });
    const noBoundary = await fetch(`${server.url}/api/upload`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'multipart/form-data' }, body: 'x' });
    expect(noBoundary.status).toBe(415);
    const garbage = await fetch(`${server.url}/api/upload`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\nnonsense' });
    expect(garbage.status).toBeGreaterThanOrEqual(400);
    expect(garbage.status).toBeLessThan(500);
    expect((await upload(server, null, { room_id: roomId }, { name: 'a.png', data: await png() })).status).toBe(401);
    const cookie = await upload(server, null, { room_id: roomId }, { name: 'a.png', data: await png() }, { cookie: `session=${alice.token}`, origin: 'http://evil.example' });
    expect(cookie).toMatchObject({ status: 403, body: { error: { code: 'bad-origin' } } });
    const sameSite = await upload(server, null, { room_id: roomId }, { name: 'a.png', data: await png() }, { cookie: `session=${alice.token}`, origin: server.url });
    expect(sameSite.status).toBe(201);
    const noFile = await upload(server, alice, { room_id: roomId }, null);
    expect(noFile.body.error.code).toBe('file-required');
  });
});

describe('downloads', () => {
  it('serve images inline and everything else as an attachment, privately and never sniffed', async () => {
    const img = await uploadTo(server, alice, roomId, 'a.png', await png());
    const doc = await uploadTo(server, alice, roomId, 'b.pdf', pdf());
    await attach(img.body);
    await attach(doc.body);
    const i = await get(bob, `/api/files/${img.body.file.id}`);
    expect(i.headers.get('content-disposition')).toMatch(/^inline;/);
    const p = await get(bob, `/api/files/${doc.body.file.id}`);
    expect(p.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(p.headers.get('content-type')).toBe('application/pdf');
    const forced = await get(bob, `/api/files/${img.body.file.id}?download=1`);
    expect(forced.headers.get('content-disposition')).toMatch(/^attachment;/);
    for (const r of [i, p]) {
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('cache-control')).toMatch(/^private/);
      expect(r.headers.get('content-security-policy')).toContain('sandbox');
    }
    // an outsider with the id gets the same answer as for an id that never existed
    const outsider = await get(eve, `/api/files/${img.body.file.id}`);
    const never = await get(eve, '/api/files/NoSuchFile1234');
    expect(outsider.status).toBe(404);
    expect(await outsider.json()).toEqual(await never.json());
    expect((await get(eve, `/api/files/${img.body.file.id}/thumb`)).status).toBe(404);
    expect((await get(null, `/api/files/${img.body.file.id}`)).status).toBe(401);
  });

  it('follow membership: a kicked member loses access; a later joiner of a `joined` room cannot fetch earlier files', async () => {
    const carol = await makeUser(server);
    const room = await makeRoom(alice, [carol, bob]);
    const seg = await openDoc(connectSocket(server.wsUrl), `room:${room.id}:0`, alice.token);
    const up = await uploadTo(server, alice, room.id, 'early.png', await png());
    await attach(up.body, seg);
    expect((await get(carol, `/api/files/${up.body.file.id}`)).status).toBe(200);
    expect((await alice.api('DELETE', `/api/rooms/${room.id}/members/${carol.id}`)).status).toBe(204);
    expect((await get(carol, `/api/files/${up.body.file.id}`)).status).toBe(404);
    const dave = await makeUser(server);
    expect((await alice.api('POST', `/api/rooms/${room.id}/members`, { userIds: [dave.id] })).status).toBe(200);
    expect((await get(dave, `/api/files/${up.body.file.id}`)).status).toBe(404);
    expect((await get(bob, `/api/files/${up.body.file.id}`)).status).toBe(200);
    seg.provider.configuration.websocketProvider.destroy();
  });
});

describe('the room file list', () => {
  it('lists attached files newest first, filters images and documents, pages, and is members-only', async () => {
    const room = await makeRoom(alice, [bob]);
    const seg = await openDoc(connectSocket(server.wsUrl), `room:${room.id}:0`, alice.token);
    const names = ['1.png', '2.pdf', '3.png', '4.txt', '5.png'];
    for (const name of names) {
      const data = name.endsWith('.png') ? await png() : name.endsWith('.pdf') ? pdf() : Buffer.from('text');
      await attach((await uploadTo(server, alice, room.id, name, data)).body, seg);
    }
    await uploadTo(server, alice, room.id, 'never-sent.png', await png()); // not attached: not listed
    const all = await bob.api('GET', `/api/rooms/${room.id}/files`);
    expect(all.body.files.map((f: any) => f.name)).toEqual([...names].reverse());
    expect(all.body.files[0]).toMatchObject({ uploader: alice.id, segment: 0, type: 'image/png', thumb: true });
    const images = await bob.api('GET', `/api/rooms/${room.id}/files?kind=image`);
    expect(images.body.files.map((f: any) => f.name)).toEqual(['5.png', '3.png', '1.png']);
    const docs = await bob.api('GET', `/api/rooms/${room.id}/files?kind=document`);
    expect(docs.body.files.map((f: any) => f.name)).toEqual(['4.txt', '2.pdf']);
    const page1 = await bob.api('GET', `/api/rooms/${room.id}/files?limit=2`);
    expect(page1.body.files.map((f: any) => f.name)).toEqual(['5.png', '4.txt']);
    const page2 = await bob.api('GET', `/api/rooms/${room.id}/files?limit=2&before=${page1.body.next}`);
    expect(page2.body.files.map((f: any) => f.name)).toEqual(['3.png', '2.pdf']);
    const page3 = await bob.api('GET', `/api/rooms/${room.id}/files?limit=2&before=${page2.body.next}`);
    expect(page3.body).toMatchObject({ next: null });
    expect(page3.body.files.map((f: any) => f.name)).toEqual(['1.png']);
    expect((await bob.api('GET', `/api/rooms/${room.id}/files?limit=1000`)).body.files).toHaveLength(5);
    expect((await bob.api('GET', `/api/rooms/${room.id}/files?limit=0`)).body.files).toHaveLength(1);
    for (const bad of ['limit=abc', 'kind=exe', 'before=%%%']) {
      const r = await bob.api('GET', `/api/rooms/${room.id}/files?${bad}`);
      expect([bad, r.status, r.body.error.code]).toEqual([bad, 400, 'validation-failed']);
    }
    expect((await eve.api('GET', `/api/rooms/${room.id}/files`)).status).toBe(404);
    // the files of one message keep the message's order, also across pages
    const three = [];
    for (const name of ['c.png', 'a.png', 'b.png']) three.push(attachmentOf((await uploadTo(server, alice, room.id, name, await png())).body));
    post(seg.doc, alice.id, '세 장', { attachments: three });
    await acked(seg.provider);
    await waitFor(async () => (await bob.api('GET', `/api/rooms/${room.id}/files?limit=3`)).body.files.length === 3, { message: 'listed' });
    const first = await bob.api('GET', `/api/rooms/${room.id}/files?limit=2`);
    const rest = await bob.api('GET', `/api/rooms/${room.id}/files?limit=1&before=${first.body.next}`);
    expect([...first.body.files, ...rest.body.files].map((f: any) => f.name)).toEqual(['c.png', 'a.png', 'b.png']);
    seg.provider.configuration.websocketProvider.destroy();
  });
});

describe('deleting files', () => {
  it('uploader or room admin only; removes the bytes and the attachment from the message', async () => {
    const room = await makeRoom(alice, [bob]);
    const seg = await openDoc(connectSocket(server.wsUrl), `room:${room.id}:0`, alice.token);
    const bobSeg = await openDoc(connectSocket(server.wsUrl), `room:${room.id}:0`, bob.token);
    const a = await uploadTo(server, alice, room.id, 'keep.pdf', pdf());
    const b = await uploadTo(server, alice, room.id, 'drop.png', await png());
    const id = post(seg.doc, alice.id, '둘 다', { attachments: [attachmentOf(a.body), attachmentOf(b.body)] });
    await acked(seg.provider);
    await waitFor(() => messagesOf(bobSeg.doc).get(id), { message: 'bob sees the message' });
    expect((await bob.api('DELETE', `/api/files/${b.body.file.id}`)).status).toBe(403);
    expect((await eve.api('DELETE', `/api/files/${b.body.file.id}`)).status).toBe(404);
    expect((await alice.api('DELETE', `/api/files/${b.body.file.id}`)).status).toBe(204);
    await waitFor(() => messagesOf(bobSeg.doc).get(id)?.attachments?.length === 1, { message: 'attachment removed for bob' });
    expect(messagesOf(bobSeg.doc).get(id)).toMatchObject({ text: '둘 다', attachments: [{ id: a.body.file.id }] });
    expect((await get(bob, `/api/files/${b.body.file.id}`)).status).toBe(404);
    expect(filesOnDisk('files')).not.toContain(b.body.file.id);
    expect(filesOnDisk('thumbs')).not.toContain(`${b.body.file.id}.webp`);
    expect((await alice.api('DELETE', `/api/files/${b.body.file.id}`)).status).toBe(404);

    // bob's own file in a file-only message: the room admin removes it, the message becomes a tombstone
    const mine = await uploadTo(server, bob, room.id, 'bob.txt', Buffer.from('hi'));
    const bobMsg = post(bobSeg.doc, bob.id, '', { attachments: [attachmentOf(mine.body)], text: '' } as Partial<Message>);
    await acked(bobSeg.provider);
    await waitFor(() => receiptsOf(seg.doc).get(bobMsg), { message: 'receipt' });
    expect((await alice.api('DELETE', `/api/files/${mine.body.file.id}`)).status).toBe(204);
    await waitFor(() => messagesOf(bobSeg.doc).get(bobMsg)?.deleted, { message: 'tombstone' });
    expect(messagesOf(bobSeg.doc).get(bobMsg)).toMatchObject({ deleted: true, text: '' });
    expect(messagesOf(bobSeg.doc).get(bobMsg)?.attachments).toBeUndefined();
    seg.provider.configuration.websocketProvider.destroy();
    bobSeg.provider.configuration.websocketProvider.destroy();
  });
});

describe('limits from one source', () => {
  it('/api/config publishes the limits, and a change on the server applies at once', async () => {
    const config = async () => (await apiClient(server.url)('GET', '/api/config')).body;
    const before = await config();
    expect(before.uploads).toMatchObject({ enabled: true, maxBytes: 2 * 1024 * 1024, av: false, maxAttachments: 10 });
    expect(before.uploads.types).toMatchObject({ png: 'image/png', pdf: 'application/pdf', hwp: 'application/x-hwp' });
    expect(before.uploads.accept).toContain('.png');
    expect(before.rateLimits.upload).toMatchObject({ points: 10_000, durationSec: 60, key: 'user' });
    server.app.services.files.setLimits({ maxBytes: 1000, types: ['pdf'] });
    try {
      const after = await config();
      expect(after.uploads).toMatchObject({ maxBytes: 1000, types: { pdf: 'application/pdf' }, accept: '.pdf' });
      expect((await uploadTo(server, alice, roomId, 'a.png', await png())).body.error.code).toBe('file-type-not-allowed');
      expect((await uploadTo(server, alice, roomId, 'a.pdf', Buffer.concat([pdf(), Buffer.alloc(2000)]))).status).toBe(413);
      expect((await uploadTo(server, alice, roomId, 'a.pdf', pdf())).status).toBe(201);
    } finally {
      server.app.services.files.setLimits({ maxBytes: before.uploads.maxBytes, types: Object.keys(before.uploads.types) });
    }
    expect((await uploadTo(server, alice, roomId, 'a.png', await png())).status).toBe(201);
  });
});

describe('rate limit and maintenance', () => {
  it('allows 10 uploads a minute per user (the old product documented this), through the one table', async () => {
    const limited = await startServer({}, { rateLimits: TEST_LIMITS });
    try {
      const [u, v] = await Promise.all([makeUser(limited), makeUser(limited)]);
      const room = await makeRoom(u, [v]);
      const data = await png();
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await uploadTo(limited, u, room.id, `${i}.png`, data)).status);
      expect(statuses).toEqual([...Array(10).fill(201), 429]);
      const r = await uploadTo(limited, u, room.id, 'x.png', data);
      expect(r.body.error.code).toBe('rate-limited');
      const raw = await fetch(`${limited.url}/api/upload`, { method: 'POST', headers: { authorization: `Bearer ${u.token}`, 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--' });
      expect(raw.status).toBe(429);
      expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(raw.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect((await uploadTo(limited, v, room.id, 'x.png', data)).status).toBe(201); // per user
    } finally {
      await limited.close();
    }
  });

  it('purges uploads never attached, and keeps attached ones', async () => {
    const purging = await startServer({ uploadOrphanHours: 0 }, { rateLimits: LIMITS });
    try {
      const [u, v] = await Promise.all([makeUser(purging), makeUser(purging)]);
      const room = await makeRoom(u, [v]);
      const seg = await openDoc(connectSocket(purging.wsUrl), `room:${room.id}:0`, u.token);
      const kept = await uploadTo(purging, u, room.id, 'kept.png', await png());
      const orphan = await uploadTo(purging, u, room.id, 'orphan.png', await png());
      const id = post(seg.doc, u.id, '', { attachments: [attachmentOf(kept.body)], text: '' } as Partial<Message>);
      await acked(seg.provider);
      await waitFor(() => receiptsOf(seg.doc).get(id), { message: 'receipt' });
      const uploadedBy = Date.now();
      await waitFor(() => Date.now() > uploadedBy + 1, { message: 'the clock moves past the upload' });
      const result = await purging.app.services.files.purge();
      expect(result.orphans).toBe(1);
      const dir = fs.readdirSync(path.join(purging.dataDir, 'uploads', 'files'));
      expect(dir).toEqual([kept.body.file.id]);
      const fetchAs = (p: string) => fetch(purging.url + p, { headers: { authorization: `Bearer ${u.token}` } });
      expect((await fetchAs(`/api/files/${orphan.body.file.id}`)).status).toBe(404);
      expect((await fetchAs(`/api/files/${kept.body.file.id}`)).status).toBe(200);
      seg.provider.configuration.websocketProvider.destroy();
    } finally {
      await purging.close();
    }
  });
});
