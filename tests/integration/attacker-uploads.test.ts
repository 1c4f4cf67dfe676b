/**
 * Issue 8 from the attacker's side: the one-time upload token over raw Yjs. SPEC: attaching a file
 * without a one-time upload token bound to that user, that room and that file must be impossible.
 * Every refusal carries its exact code, leaves the server document and a witness member's copy
 * unchanged and leaves no pending structs; every refusal has a positive control next to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, makeUser, makeRoom, waitFor, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked, newId, type OpenDoc } from '../helpers/collab.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { uploadTo, png, pdf, attachmentOf } from '../helpers/uploads.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { HEAD_PINS, type Attachment, type Message, type Pin } from '../../src/lib/protocol/schema.ts';

const TTL_SEC = 60;
const LIMITS = {
  ...TEST_LIMITS,
  upload: { ...RATE_LIMITS.upload, points: 10_000 },
  messages: { ...RATE_LIMITS.messages, points: 10_000 },
  backlog: { ...RATE_LIMITS.backlog, points: 10_000 },
};
/** The server's clock runs this far ahead of the real one (expires tokens without waiting). */
let offset = 0;

let server: TestServer;
let alice: TestUser; // admin of every room
let bob: TestUser; // member, the attacker
let vic: TestUser; // member, the victim
let eve: TestUser; // outsider
let joe: TestUser; // later joiner of the segments room
let roomId: string; // alice, bob, vic; segment 0 stays open
let otherRoomId: string; // bob and alice
let segRoomId: string; // alice, bob, vic; segment 0 sealed by joe joining, segment 1 open
let seg: string;
let witness: OpenDoc; // alice's real provider on `seg`: what other members see
let head: OpenDoc; // alice's head document of `roomId` (pins)
let sealed: string;
let open: string;
let wSealed: OpenDoc;
let wOpen: OpenDoc;

beforeAll(async () => {
  server = await startServer({ uploadTokenTtlSec: TTL_SEC }, { rateLimits: LIMITS, clock: { now: () => Date.now() + offset } });
  [alice, bob, vic, eve, joe] = await Promise.all([makeUser(server), makeUser(server), makeUser(server), makeUser(server), makeUser(server)]);
  [roomId, otherRoomId, segRoomId] = (await Promise.all([makeRoom(alice, [bob, vic]), makeRoom(bob, [alice]), makeRoom(alice, [bob, vic])])).map((r) => r.id);
  seg = `room:${roomId}:0`;
  sealed = `room:${segRoomId}:0`;
  open = `room:${segRoomId}:1`;
  const socket = connectSocket(server.wsUrl);
  [witness, head, wSealed] = await Promise.all([openDoc(socket, seg, alice.token), openDoc(socket, `room:${roomId}`, alice.token), openDoc(socket, sealed, alice.token)]);
  // a membership change in a `joined` room with messages seals its open segment
  const first = post(wSealed.doc, alice.id, 'before joe joined');
  await acked(wSealed.provider);
  await waitFor(() => receiptsOf(wSealed.doc).has(first), { message: 'first receipt' });
  expect((await alice.api('POST', `/api/rooms/${segRoomId}/members`, { userIds: [joe.id] })).status).toBe(200);
  await waitFor(() => server.app.services.rooms.openSegmentOf(segRoomId) === 1, { message: 'segment 1 opened' });
  wOpen = await openDoc(socket, open, alice.token);
});
afterAll(async () => {
  witness?.provider.configuration.websocketProvider.destroy();
  await server?.close();
});

const serverDoc = (name: string) => server.app.collab.hocuspocus.documents.get(name)!;
const snapshotOf = (doc: Y.Doc) => JSON.stringify([...doc.share.keys()].sort().map((k) => [k, doc.get(k).toJSON()]));
const fileOnDisk = (id: string) => fs.existsSync(path.join(server.dataDir, 'uploads', 'files', id));

interface Upload {
  file: any;
  token: string;
  data: Buffer;
  att: Attachment;
}
let n = 0;
async function up(user: TestUser, room: string, kind: 'png' | 'pdf' = 'png'): Promise<Upload> {
  const data = kind === 'png' ? await png(80, 40, `#${(0x100000 + ++n * 7919).toString(16).slice(-6)}`) : pdf(`file ${++n}`);
  const r = await uploadTo(server, user, room, `file-${n}.${kind}`, data);
  expect(r.status).toBe(201);
  expect(r.body.token).toEqual(expect.any(String));
  return { file: r.body.file, token: r.body.token, data, att: attachmentOf(r.body) as Attachment };
}

const fileMsg = (author: TestUser, attachments: Attachment[] | undefined, text = '', id = newId()): Message => ({
  id, author: author.id, text, createdAt: Date.now(), ...(attachments ? { attachments } : {}),
});
const writing = (name: string, ...msgs: Message[]) => (c: RawClient) => c.craft(name, (doc) => {
  for (const m of msgs) doc.getMap('messages').set(m.id, m);
});

async function download(user: TestUser, id: string) {
  const res = await fetch(`${server.url}/api/files/${id}`, { headers: { authorization: `Bearer ${user.token}` } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function expectRefused(user: TestUser, name: string, update: (c: RawClient) => Uint8Array, code: string, seen: Y.Doc = witness.doc) {
  const c = new RawClient(server.wsUrl);
  await c.open(name, user.token);
  const before = snapshotOf(serverDoc(name));
  const seenBefore = snapshotOf(seen);
  const verdict = await c.attempt(name, update(c));
  expect(verdict).toEqual({ accepted: false, reason: code });
  expect(serverDoc(name).store.pendingStructs).toBeNull();
  expect(snapshotOf(serverDoc(name))).toBe(before);
  expect(snapshotOf(seen)).toBe(seenBefore);
  c.close();
}

/** Accepted, and the witness has the message with its receipt (so later snapshots are settled). */
async function expectAccepted(user: TestUser, name: string, msgs: Message[], seen: Y.Doc | null = witness.doc) {
  const c = new RawClient(server.wsUrl);
  await c.open(name, user.token);
  expect(await c.attempt(name, writing(name, ...msgs)(c))).toEqual({ accepted: true, reason: null });
  expect(serverDoc(name).store.pendingStructs).toBeNull();
  c.close();
  if (seen) {
    for (const m of msgs) {
      await waitFor(() => messagesOf(seen).has(m.id) && receiptsOf(seen).has(m.id), { message: `receipt of ${m.id}` });
      expect(messagesOf(seen).get(m.id)).toEqual(m);
    }
  }
}

describe('attaching a file', () => {
  it('1. works with the upload\'s token; the file becomes readable to members only once the message is accepted; 2. the spent token is refused', async () => {
    const u = await up(bob, roomId);
    expect((await download(bob, u.file.id)).status).toBe(200); // the uploader's preview
    expect((await download(vic, u.file.id)).status).toBe(404);
    const m = fileMsg(bob, [u.att]);
    await expectAccepted(bob, seg, [m]);
    expect(messagesOf(serverDoc(seg)).get(m.id)!.attachments).toEqual([u.att]);
    const got = await download(vic, u.file.id);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(u.data)).toBe(true);
    expect((await download(eve, u.file.id)).status).toBe(404);

    // 2. the spent token is worthless
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att], 'again')), 'upload-token-used');
  });

  it('3. refuses another room\'s file and token (the attacker is a member of both)', async () => {
    const u = await up(bob, otherRoomId);
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att])), 'upload-token-invalid');
    // positive control: in its own room it attaches
    await expectAccepted(bob, `room:${otherRoomId}:0`, [fileMsg(bob, [u.att])], null);
  });

  it('4. refuses another user\'s upload and token; the victim can still use it', async () => {
    const u = await up(vic, roomId);
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att], 'stolen')), 'upload-token-invalid');
    await expectAccepted(vic, seg, [fileMsg(vic, [u.att], 'mine')]);
  });

  it('5. refuses a wrong or made-up token, and an existing file id with a made-up token', async () => {
    const u = await up(bob, roomId);
    const forged = 'A'.repeat(32);
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [{ ...u.att, token: forged }])), 'upload-token-invalid');
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [{ ...u.att, token: u.token.slice(0, -1) + (u.token.endsWith('A') ? 'B' : 'A') }])), 'upload-token-invalid');
    // no upload at all: a file id that does not exist, the victim's unattached upload, the victim's attached file
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [{ ...u.att, id: 'nofile0000000000', token: forged }])), 'upload-token-invalid');
    const theirs = await up(vic, roomId);
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [{ ...theirs.att, token: forged }])), 'upload-token-invalid');
    const attached = fileMsg(vic, [theirs.att]);
    await expectAccepted(vic, seg, [attached]);
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [{ ...theirs.att, token: forged }])), 'upload-token-invalid');
    // positive control: the real token of bob's own upload
    await expectAccepted(bob, seg, [fileMsg(bob, [u.att])]);
  });

  it('6. refuses an expired token; the upload job hands out a fresh one and the old one stops working', async () => {
    const u = await up(bob, roomId);
    offset += (TTL_SEC + 1) * 1000;
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att])), 'upload-token-expired');
    expect((await vic.api('GET', `/api/upload/jobs/${u.file.id}`)).status).toBe(404); // owner only
    const job = await bob.api('GET', `/api/upload/jobs/${u.file.id}`);
    expect(job.status).toBe(200);
    expect(job.body.job).toMatchObject({ id: u.file.id, state: 'clean' });
    expect(job.body.file).toEqual(u.file);
    const fresh: string = job.body.token;
    expect(fresh).toEqual(expect.any(String));
    expect(fresh).not.toBe(u.token);
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att])), 'upload-token-invalid');
    await expectAccepted(bob, seg, [fileMsg(bob, [{ ...u.att, token: fresh }])]);
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att])), 'upload-token-used');
    // once attached, the job gives no token any more
    const after = await bob.api('GET', `/api/upload/jobs/${u.file.id}`);
    expect(after.body).toMatchObject({ token: null, attached: true });
  });

  it('7. refuses metadata that differs from the upload', async () => {
    const u = await up(bob, roomId);
    expect(u.att).toMatchObject({ width: 80, height: 40, type: 'image/png' });
    const { width: _w, height: _h, ...noSize } = u.att;
    const forgeries: Attachment[] = [
      { ...u.att, size: u.att.size + 1 },
      { ...u.att, size: 1 },
      { ...u.att, name: 'invoice.pdf' },
      { ...u.att, name: u.att.name.normalize('NFD') + ' ' },
      { ...u.att, type: 'text/html' },
      { ...u.att, type: 'image/jpeg' },
      { ...u.att, width: 8000 },
      { ...u.att, height: 41 },
      noSize,
    ];
    for (const a of forgeries) await expectRefused(bob, seg, writing(seg, fileMsg(bob, [a])), 'attachment-mismatch');
    // a document has no dimensions: claiming some is a mismatch too
    const d = await up(bob, roomId, 'pdf');
    expect(d.att.width).toBeUndefined();
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [{ ...d.att, width: 100, height: 100 }])), 'attachment-mismatch');
    // positive controls: the exact metadata (refused attempts spent nothing)
    await expectAccepted(bob, seg, [fileMsg(bob, [u.att]), fileMsg(bob, [d.att])]);
  });

  it('8. refuses one file twice in one update (two messages), and twice in one message', async () => {
    const u = await up(bob, roomId);
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att], 'one'), fileMsg(bob, [u.att], 'two')), 'upload-token-used');
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att, u.att])), 'schema-violation');
    // positive control: two different files in one message, once
    const v = await up(bob, roomId, 'pdf');
    await expectAccepted(bob, seg, [fileMsg(bob, [u.att, v.att], 'both')]);
  });
});

describe('9. a race for one token', () => {
  /** Two connections of the attacker send different messages with the same token at the same moment. */
  async function race(names: [string, string], att: Attachment) {
    const clients = [new RawClient(server.wsUrl), new RawClient(server.wsUrl)];
    await Promise.all(clients.map((c, i) => c.open(names[i], bob.token)));
    const msgs = [fileMsg(bob, [att], 'first'), fileMsg(bob, [att], 'second')];
    const updates = clients.map((c, i) => writing(names[i], msgs[i])(c));
    const verdicts = await Promise.all(clients.map((c, i) => c.attempt(names[i], updates[i])));
    for (const c of clients) c.close();
    const winner = verdicts.findIndex((v) => v.accepted);
    expect(winner).toBeGreaterThanOrEqual(0);
    expect(verdicts[1 - winner]).toEqual({ accepted: false, reason: 'upload-token-used' });
    expect(verdicts[winner]).toEqual({ accepted: true, reason: null });
    for (const name of new Set(names)) expect(serverDoc(name).store.pendingStructs).toBeNull();
    return { winner: msgs[winner], loser: msgs[1 - winner], winnerDoc: names[winner] };
  }

  it('on one document: exactly one message is accepted', async () => {
    const u = await up(bob, roomId);
    const { winner, loser } = await race([seg, seg], u.att);
    await waitFor(() => receiptsOf(witness.doc).has(winner.id), { message: 'winner receipt' });
    const withFile = [...messagesOf(serverDoc(seg)).values()].filter((m) => m.attachments?.some((a) => a.id === u.file.id));
    expect(withFile.map((m) => m.id)).toEqual([winner.id]);
    expect(messagesOf(witness.doc).has(loser.id)).toBe(false);
    const list = await vic.api('GET', `/api/rooms/${roomId}/files?limit=100`);
    expect(list.body.files.filter((f: any) => f.id === u.file.id).map((f: any) => f.messageId)).toEqual([winner.id]);
    // the document is still writable (not poisoned by a failed commit)
    await expectAccepted(bob, seg, [fileMsg(bob, undefined, 'after the race')]);
  });

  it('across a sealed and the open segment: exactly one wins', async () => {
    const u = await up(bob, segRoomId);
    const { winner, loser } = await race([sealed, open], u.att);
    // wherever it was written, it counts in the open segment
    await waitFor(() => receiptsOf(wOpen.doc).has(winner.id), { message: 'winner receipt in the open segment' });
    expect(messagesOf(wOpen.doc).get(winner.id)!.attachments).toEqual([u.att]);
    for (const d of [serverDoc(sealed), serverDoc(open), wSealed.doc, wOpen.doc]) expect(messagesOf(d).has(loser.id)).toBe(false);
    const list = await vic.api('GET', `/api/rooms/${segRoomId}/files?limit=100`);
    expect(list.body.files.filter((f: any) => f.id === u.file.id)).toMatchObject([{ messageId: winner.id, segment: 1 }]);
  });
});

describe('10. attachments are fixed at creation', () => {
  it('an edit that adds, removes, swaps or alters an attachment is refused; a text edit that keeps them passes', async () => {
    const [u1, u2, u3] = await Promise.all([up(bob, roomId), up(bob, roomId, 'pdf'), up(bob, roomId)]);
    const plain = fileMsg(bob, undefined, 'plain text');
    const withFile = fileMsg(bob, [u2.att], 'caption');
    await expectAccepted(bob, seg, [plain, withFile]);
    const edit = (m: Message, patch: Partial<Message>): Message => ({ ...m, ...patch, editedAt: Date.now() });
    // add (with a valid, unspent token), remove, swap, alter, append
    await expectRefused(bob, seg, writing(seg, edit(plain, { attachments: [u1.att] })), 'server-owned');
    const { attachments: _a, ...stripped } = withFile;
    await expectRefused(bob, seg, writing(seg, edit(stripped as Message, {})), 'server-owned');
    await expectRefused(bob, seg, writing(seg, edit(withFile, { attachments: [u1.att] })), 'server-owned');
    await expectRefused(bob, seg, writing(seg, edit(withFile, { attachments: [{ ...u2.att, name: 'renamed.pdf' }] })), 'server-owned');
    await expectRefused(bob, seg, writing(seg, edit(withFile, { attachments: [u2.att, u3.att] })), 'server-owned');
    // another member cannot hang a file on the victim's message either
    const vics = await up(vic, roomId);
    await expectRefused(vic, seg, writing(seg, edit(plain, { attachments: [vics.att] })), 'server-owned');
    // positive controls: a text edit keeping the attachments; the refused edits spent nothing
    const edited = edit(withFile, { text: 'new caption' });
    const c = new RawClient(server.wsUrl);
    await c.open(seg, bob.token);
    expect(await c.attempt(seg, writing(seg, edited)(c))).toEqual({ accepted: true, reason: null });
    c.close();
    await waitFor(() => messagesOf(witness.doc).get(withFile.id)?.text === 'new caption', { message: 'edit seen' });
    expect(messagesOf(witness.doc).get(withFile.id)!.attachments).toEqual([u2.att]);
    await expectAccepted(bob, seg, [fileMsg(bob, [u1.att, u3.att])]);
  });
});

describe('11. a message with a file written into a sealed segment', () => {
  it('is moved into the open segment with its file, which counts there: a later joiner can download it, an outsider cannot', async () => {
    const info = await joe.api('GET', `/api/rooms/${segRoomId}`);
    expect(info.body.room.segments).toEqual([1]);
    const u = await up(bob, segRoomId);
    expect((await download(joe, u.file.id)).status).toBe(404);
    const m = fileMsg(bob, [u.att], 'written into the sealed segment');
    const c = new RawClient(server.wsUrl);
    await c.open(sealed, bob.token);
    expect(await c.attempt(sealed, writing(sealed, m)(c))).toEqual({ accepted: true, reason: null });
    c.close();
    await waitFor(() => receiptsOf(wOpen.doc).get(m.id)?.seq !== undefined, { message: 'moved with a receipt' });
    await waitFor(() => receiptsOf(wSealed.doc).get(m.id)?.movedTo === 1, { message: 'original marked' });
    expect(messagesOf(serverDoc(open)).get(m.id)).toEqual(m);
    expect(server.app.services.rooms.messageSegment(segRoomId, m.id)).toBe(1);
    const got = await download(joe, u.file.id);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(u.data)).toBe(true);
    expect((await download(eve, u.file.id)).status).toBe(404);
    const list = await joe.api('GET', `/api/rooms/${segRoomId}/files`);
    expect(list.body.files.find((f: any) => f.id === u.file.id)).toMatchObject({ messageId: m.id, segment: 1 });
  });
});

describe('12. deleting the message', () => {
  it('removes its file: 404 for everyone and the bytes are gone', async () => {
    const u = await up(bob, roomId);
    const m = fileMsg(bob, [u.att]);
    await expectAccepted(bob, seg, [m]);
    expect((await download(vic, u.file.id)).status).toBe(200);
    expect(fileOnDisk(u.file.id)).toBe(true);
    // the attacker cannot delete someone else's file by writing a tombstone of their message
    const vicsUpload = await up(vic, roomId);
    const vics = fileMsg(vic, [vicsUpload.att]);
    await expectAccepted(vic, seg, [vics]);
    const { attachments: _v, ...vicsRest } = vics;
    await expectRefused(bob, seg, writing(seg, { ...vicsRest, text: '', deleted: true }), 'not-author');
    expect((await download(bob, vicsUpload.file.id)).status).toBe(200);

    const { attachments: _a, ...rest } = m;
    const c = new RawClient(server.wsUrl);
    await c.open(seg, bob.token);
    expect(await c.attempt(seg, writing(seg, { ...rest, text: '', deleted: true })(c))).toEqual({ accepted: true, reason: null });
    c.close();
    await waitFor(() => messagesOf(witness.doc).get(m.id)?.deleted === true, { message: 'tombstone seen' });
    for (const user of [bob, vic, alice]) await waitFor(async () => (await download(user, u.file.id)).status === 404, { message: `404 for ${user.username}` });
    await waitFor(() => !fileOnDisk(u.file.id), { message: 'bytes removed' });
    expect(fs.existsSync(path.join(server.dataDir, 'uploads', 'thumbs', `${u.file.id}.webp`))).toBe(false);
    // its token stays worthless
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att])), 'upload-token-invalid');
  });
});

describe('13. DELETE /api/files/:id', () => {
  const pinsOf = () => [...head.doc.getMap<Pin>(HEAD_PINS).values()];

  it('is refused to a member who is neither uploader nor admin; the admin removes it from the message, unpins it and deletes the bytes', async () => {
    const u = await up(bob, roomId);
    const m = fileMsg(bob, [u.att], 'pin me');
    await expectAccepted(bob, seg, [m]);
    const pin = await vic.api('POST', `/api/rooms/${roomId}/pins`, { messageId: m.id, segment: 0 });
    expect(pin.status).toBe(201);
    await waitFor(() => pinsOf().some((p) => p.messageId === m.id), { message: 'pin in the head' });

    expect((await vic.api('DELETE', `/api/files/${u.file.id}`)).status).toBe(403);
    expect((await eve.api('DELETE', `/api/files/${u.file.id}`)).status).toBe(404);
    expect((await download(vic, u.file.id)).status).toBe(200);
    expect(messagesOf(witness.doc).get(m.id)!.attachments).toEqual([u.att]);

    expect((await alice.api('DELETE', `/api/files/${u.file.id}`)).status).toBe(204);
    await waitFor(() => messagesOf(witness.doc).get(m.id)?.attachments === undefined, { message: 'attachment removed' });
    const { attachments: _a, ...rest } = m;
    expect(messagesOf(witness.doc).get(m.id)).toEqual(rest); // text stays
    await waitFor(() => !pinsOf().some((p) => p.messageId === m.id), { message: 'unpinned' });
    for (const user of [bob, vic, alice]) expect((await download(user, u.file.id)).status).toBe(404);
    expect(fileOnDisk(u.file.id)).toBe(false);
  });

  it('a file-only message becomes a tombstone; the uploader may delete own files', async () => {
    const u = await up(bob, roomId);
    const m = fileMsg(bob, [u.att]);
    await expectAccepted(bob, seg, [m]);
    expect((await vic.api('DELETE', `/api/files/${u.file.id}`)).status).toBe(403);
    expect((await alice.api('DELETE', `/api/files/${u.file.id}`)).status).toBe(204);
    await waitFor(() => messagesOf(witness.doc).get(m.id)?.deleted === true, { message: 'tombstone' });
    expect(messagesOf(witness.doc).get(m.id)).toEqual({ id: m.id, author: bob.id, text: '', createdAt: m.createdAt, deleted: true });
    expect(fileOnDisk(u.file.id)).toBe(false);

    const own = await up(bob, roomId, 'pdf');
    const two = await up(bob, roomId);
    const m2 = fileMsg(bob, [own.att, two.att]);
    await expectAccepted(bob, seg, [m2]);
    expect((await bob.api('DELETE', `/api/files/${own.file.id}`)).status).toBe(204);
    await waitFor(() => messagesOf(witness.doc).get(m2.id)?.attachments?.length === 1, { message: 'one attachment left' });
    expect(messagesOf(witness.doc).get(m2.id)!.attachments).toEqual([two.att]);
    expect((await download(vic, two.file.id)).status).toBe(200);
    expect((await download(vic, own.file.id)).status).toBe(404);
  });

  // BUG (reported): POST /api/rooms/:id/pins takes the message's text as the pin's excerpt, and an
  // empty excerpt is refused (400 validation-failed "A notice is 1-1000 characters."), so a
  // file-only message cannot be pinned. Flip to `it` once that is fixed.
  it('a pin of a file-only message goes with its file', async () => {
    const u = await up(bob, roomId);
    const m = fileMsg(bob, [u.att]);
    await expectAccepted(bob, seg, [m]);
    const pin = await alice.api('POST', `/api/rooms/${roomId}/pins`, { messageId: m.id, segment: 0 });
    expect(pin.status, JSON.stringify(pin.body)).toBe(201);
    await waitFor(() => pinsOf().some((p) => p.messageId === m.id), { message: 'pin in the head' });
    expect((await alice.api('DELETE', `/api/files/${u.file.id}`)).status).toBe(204);
    await waitFor(() => messagesOf(witness.doc).get(m.id)?.deleted === true, { message: 'tombstone' });
    await waitFor(() => !pinsOf().some((p) => p.messageId === m.id), { message: 'unpinned' });
  });
});


describe('two concurrent structs for one message key in one update', () => {
  // Yjs keeps the value of the struct with the HIGHER client id when two structs of one update write
  // the same key concurrently (same origin); encoders list higher clients first, so the validator,
  // which takes the LAST struct it decodes for a key as the final value, picks the other one.
  const fresh = (base: number) => base + Math.floor(Math.random() * 100_000_000);
  function concurrent(replica: Y.Doc, writes: { client: number; m: Message }[]) {
    return Y.mergeUpdates(writes.map(({ client, m }) => {
      const s = new Y.Doc();
      Y.applyUpdate(s, Y.encodeStateAsUpdate(replica));
      s.clientID = client;
      const before = Y.encodeStateVector(s);
      s.getMap('messages').set(m.id, m);
      return Y.encodeStateAsUpdate(s, before);
    }));
  }
  async function send(name: string, writes: (replica: Y.Doc) => Uint8Array) {
    const c = new RawClient(server.wsUrl);
    await c.open(name, bob.token);
    const verdict = await c.attempt(name, writes(c.docs.get(name)!.doc));
    c.close();
    return verdict;
  }

  // BUG (reported): the token of the value Yjs keeps is neither claimed nor spent; the message shows
  // a file nobody else can fetch, and the same token then attaches it to a second message.
  it('a new message: the file the document keeps is attached and its token spent', async () => {
    const u = await up(bob, roomId);
    const id = newId();
    const verdict = await send(seg, (replica) => concurrent(replica, [
      { client: fresh(1_500_000_000), m: fileMsg(bob, [u.att], 'with the file', id) },
      { client: fresh(200_000), m: fileMsg(bob, undefined, 'decoy', id) },
    ]));
    expect(verdict).toEqual({ accepted: true, reason: null });
    await waitFor(() => receiptsOf(witness.doc).has(id), { message: 'receipt' });
    expect(messagesOf(witness.doc).get(id)!.attachments).toEqual([u.att]);
    expect((await download(vic, u.file.id)).status).toBe(200); // today: 404 (the file is not attached)
    await expectRefused(bob, seg, writing(seg, fileMsg(bob, [u.att], 'reuse')), 'upload-token-used'); // today: accepted
  });

  // BUG (reported): the losing tombstone's files are removed while the kept edit still shows them.
  it('an existing message: a tombstone Yjs discards does not delete the file the kept edit shows', async () => {
    const u = await up(bob, roomId);
    const m = fileMsg(bob, [u.att], 'caption');
    await expectAccepted(bob, seg, [m]);
    const { attachments: _a, ...rest } = m;
    const verdict = await send(seg, (replica) => concurrent(replica, [
      { client: fresh(1_500_000_000), m: { ...m, text: 'kept edit', editedAt: Date.now() } },
      { client: fresh(200_000), m: { ...rest, text: '', deleted: true } },
    ]));
    expect(verdict).toEqual({ accepted: true, reason: null });
    await waitFor(() => messagesOf(witness.doc).get(m.id)?.text === 'kept edit', { message: 'edit kept' });
    expect(messagesOf(witness.doc).get(m.id)!.attachments).toEqual([u.att]);
    expect((await download(vic, u.file.id)).status).toBe(200); // today: 404 (the file was deleted)
    expect(fileOnDisk(u.file.id)).toBe(true);
  });
});
