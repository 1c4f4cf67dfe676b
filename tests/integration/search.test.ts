/**
 * Issue 9 §1–2: server search over real documents written through real providers. Korean words
 * inside compounds and with particles, Latin prefixes, NFD input, ANDed mixed queries; only what
 * the user may read (member rooms, readable segments), never deleted or edited-away text; ranking;
 * filters; paging and bad input; the index kept in step by the write path (edits, deletes, moves,
 * room removal) and equal to a rebuild from the documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, makeUser, makeRoom, waitFor, TEST_LIMITS, type TestServer, type TestUser } from '../helpers/server.ts';
import { connectSocket, openDoc, post, messagesOf, receiptsOf, acked, type OpenDoc } from '../helpers/collab.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';
import { attachmentOf, pdf, uploadTo } from '../helpers/uploads.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

// the fixtures write far more than a person would in 10 s
const LIMITS = {
  ...TEST_LIMITS, search: { ...RATE_LIMITS.search, points: 100_000 }, upload: { ...RATE_LIMITS.upload, points: 100_000 },
  messages: { ...RATE_LIMITS.messages, points: 100_000 }, backlog: { ...RATE_LIMITS.backlog, points: 100_000 },
};
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let eve: TestUser;
let roomId: string;
let secretRoom: string;
let seg: OpenDoc;
const docs: OpenDoc[] = [];

const search = (user: TestUser, q: string, extra = '') => user.api('GET', `/api/search?q=${encodeURIComponent(q)}${extra}`);
const texts = (r: { body: { results: { messageId: string }[] } }, doc = seg) => r.body.results.map((x) => messagesOf(doc.doc).get(x.messageId)?.text);

async function write(doc: OpenDoc, author: TestUser, lines: string[], extra: Partial<Message> = {}): Promise<string[]> {
  const ids = lines.map((t) => post(doc.doc, author.id, t, extra));
  await acked(doc.provider);
  await waitFor(() => ids.every((id) => receiptsOf(doc.doc).get(id)), { message: 'receipts' });
  return ids;
}

async function open(user: TestUser, name: string): Promise<OpenDoc> {
  const d = await openDoc(connectSocket(server.wsUrl), name, user.token);
  docs.push(d);
  return d;
}

beforeAll(async () => {
  server = await startServer({ segmentMaxMessages: 50 }, { rateLimits: LIMITS });
  [alice, bob, eve] = await Promise.all([makeUser(server), makeUser(server), makeUser(server)]);
  roomId = (await makeRoom(alice, [bob], { name: '기획팀' })).id;
  secretRoom = (await makeRoom(alice, [eve], { name: 'secret' })).id;
  seg = await open(alice, `room:${roomId}:0`);
  await write(seg, alice, ['내일 회의록을 공유합니다', 'QA 배포 일정 확인 부탁드려요', '예산 검토는 금요일까지', 'Deployment finished on staging', '회의 시작합니다']);
  const secret = await open(alice, `room:${secretRoom}:0`);
  await write(secret, alice, ['비밀 회의록 배포 금지', 'secret QA plan']);
});
afterAll(async () => {
  for (const d of docs) d.provider.configuration.websocketProvider.destroy();
  await server.close();
});

describe('Korean-aware matching', () => {
  it('finds 2-syllable words, words inside compounds and with particles, case-insensitive Latin prefixes, NFD input, ANDed mixed queries', async () => {
    expect(texts(await search(bob, '회의'))).toEqual(['회의 시작합니다', '내일 회의록을 공유합니다']);
    expect(texts(await search(bob, '회의록'))).toEqual(['내일 회의록을 공유합니다']);
    expect(texts(await search(bob, '회의록을'))).toEqual(['내일 회의록을 공유합니다']);
    expect(texts(await search(bob, '배포'))).toEqual(['QA 배포 일정 확인 부탁드려요']);
    expect(texts(await search(bob, '예산'))).toEqual(['예산 검토는 금요일까지']);
    expect(texts(await search(bob, 'qa'))).toEqual(['QA 배포 일정 확인 부탁드려요']);
    expect(texts(await search(bob, 'DEPLOY'))).toEqual(['Deployment finished on staging']);
    expect(texts(await search(bob, 'QA 배포'))).toEqual(['QA 배포 일정 확인 부탁드려요']);
    expect(texts(await search(bob, 'QA 예산'))).toEqual([]);
    expect(texts(await search(bob, '회의록'.normalize('NFD')))).toEqual(['내일 회의록을 공유합니다']);
    expect((await search(bob, '의록을 공')).body.total).toBe(1);
    // not a substring anywhere: nothing (and no false hit from a word that merely shares a syllable)
    expect((await search(bob, '회장')).body.total).toBe(0);
  });

  it('gives room, sender, time, total and a snippet with the matches marked', async () => {
    const r = await search(bob, '회의록');
    expect(r.body.total).toBe(1);
    const hit = r.body.results[0];
    expect(hit).toMatchObject({ roomId, roomName: '기획팀', segment: 0, senderId: alice.id, senderName: alice.username, snippet: { text: '내일 회의록을 공유합니다', highlights: [[3, 6]] } });
    expect(hit.at).toBe(receiptsOf(seg.doc).get(hit.messageId)!.at);
    const long = await write(seg, alice, [`${'앞부분 '.repeat(60)}핵심단어 ${'뒷부분 '.repeat(60)}`]);
    const s = (await search(bob, '핵심단어')).body.results.find((x: any) => x.messageId === long[0]).snippet;
    expect(s.text.length).toBeLessThanOrEqual(162);
    expect(s.text.slice(s.highlights[0][0], s.highlights[0][1])).toBe('핵심단어');
  });

  it('ranks whole-word matches first, then the newest', async () => {
    const [older] = await write(seg, alice, ['주간 보고 정리']);
    await write(seg, alice, ['주간보고서 초안']);
    const r = await search(bob, '보고');
    const order = texts(r);
    expect(order[0]).toBe('주간 보고 정리'); // the whole word, though older
    expect(order).toContain('주간보고서 초안');
    expect(r.body.results[0].messageId).toBe(older);
  });
});

describe('only what the user may see', () => {
  it('never returns a room the user is not in; a room filter of such a room is not-found', async () => {
    const all = await search(bob, '회의록');
    expect(all.body.results.every((x: any) => x.roomId === roomId)).toBe(true);
    expect((await search(eve, '회의록')).body.results.map((x: any) => x.roomId)).toEqual([secretRoom]);
    const filtered = await search(bob, '회의', `&room_id=${secretRoom}`);
    expect(filtered).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
  });

  it('follows history visibility: a later joiner of a `joined` room finds nothing from before, a kicked member nothing at all', async () => {
    const carol = await makeUser(server);
    const room = (await makeRoom(alice, [bob], { name: 'joined room' })).id;
    const s0 = await open(alice, `room:${room}:0`);
    await write(s0, alice, ['가입전 비밀 메시지']);
    expect((await alice.api('POST', `/api/rooms/${room}/members`, { userIds: [carol.id] })).status).toBe(200);
    expect((await search(carol, '가입전')).body.total).toBe(0);
    expect((await search(bob, '가입전')).body.total).toBe(1);
    const s1 = await open(alice, `room:${room}:1`);
    await write(s1, alice, ['가입후 메시지']);
    expect((await search(carol, '가입후')).body.results.map((x: any) => x.segment)).toEqual([1]);
    expect((await alice.api('DELETE', `/api/rooms/${room}/members/${bob.id}`)).status).toBe(204);
    expect((await search(bob, '가입전')).body.total).toBe(0);
  });

  it('never returns deleted or edited-away text; edits are found by their new text', async () => {
    const [a, b] = await write(seg, alice, ['삭제될 문장입니다', '수정전 문장입니다']);
    expect((await search(bob, '삭제될')).body.total).toBe(1);
    const m = messagesOf(seg.doc);
    m.set(a, { ...m.get(a)!, text: '', deleted: true });
    m.set(b, { ...m.get(b)!, text: '수정후 문장입니다', editedAt: Date.now() });
    await acked(seg.provider);
    await waitFor(async () => (await search(bob, '삭제될')).body.total === 0, { message: 'deleted gone' });
    expect((await search(bob, '수정전')).body.total).toBe(0);
    expect(texts(await search(bob, '수정후'))).toEqual(['수정후 문장입니다']);
  });

  it('finds a message moved out of a sealed segment in the segment it counts in', async () => {
    const room = (await makeRoom(alice, [bob], { name: 'moves' })).id;
    const bobSocket = connectSocket(server.wsUrl);
    const bob0 = await openDoc(bobSocket, `room:${room}:0`, bob.token);
    docs.push(bob0);
    bobSocket.disconnect();
    await waitFor(() => bobSocket.status === 'disconnected');
    // membership changes seal a `joined` room's segment (one that has messages)
    await write(await open(alice, `room:${room}:0`), alice, ['이동 전 첫 메시지']);
    const dave = await makeUser(server);
    expect((await alice.api('POST', `/api/rooms/${room}/members`, { userIds: [dave.id] })).status).toBe(200);
    const id = post(bob0.doc, bob.id, '오프라인 이동 메시지');
    bobSocket.connect();
    await acked(bob0.provider);
    await waitFor(async () => (await search(alice, '오프라인 이동')).body.results[0]?.segment === 1, { message: 'indexed where it counts' });
    expect((await search(dave, '오프라인 이동')).body.results.map((x: any) => x.messageId)).toEqual([id]);
  });

  it('adds the terms of new messages by itself, soon after their commit, with no query asking', async () => {
    const db = server.app.services.db;
    const fts = () => db.prepare("SELECT COUNT(*) FROM search_fts WHERE search_fts MATCH 'grams : \"택배\"'").pluck().get();
    const pending = () => db.prepare('SELECT COUNT(*) FROM search_messages WHERE id > (SELECT upto FROM search_progress)').pluck().get();
    await write(seg, alice, ['택배가 도착했어요']);
    // committed with its row; its terms follow in the indexer's next batch (search/indexer.ts)
    await waitFor(() => fts() === 1 && pending() === 0, { message: 'terms added by the indexer' });
  });

  it('forgets a removed room', async () => {
    const room = (await makeRoom(alice, [bob], { name: 'to remove' })).id;
    const s0 = await open(alice, `room:${room}:0`);
    await write(s0, alice, ['사라질 방의 메시지']);
    expect((await search(alice, '사라질')).body.total).toBe(1);
    expect((await bob.api('POST', `/api/rooms/${room}/leave`)).status).toBe(204);
    expect((await alice.api('POST', `/api/rooms/${room}/leave`)).status).toBe(204);
    const rows = server.app.services.db.prepare('SELECT COUNT(*) FROM search_messages WHERE room_id = ?').pluck().get(room);
    expect(rows).toBe(0);
    const fts = server.app.services.db.prepare("SELECT COUNT(*) FROM search_fts WHERE search_fts MATCH 'grams : \"사라\"'").pluck().get();
    expect(fts).toBe(0);
  });
});

describe('advanced search', () => {
  it('filters by room, sender, an inclusive date range in the user’s time zone, and files only', async () => {
    await write(await open(bob, `room:${roomId}:0`), bob, ['밥이 쓴 회의 메모']);
    const adv = (body: object) => bob.api('POST', '/api/search/advanced', { query: '회의', ...body });
    expect((await adv({ sender_id: bob.id })).body.results.every((x: any) => x.senderId === bob.id)).toBe(true);
    expect((await adv({ sender_id: bob.id })).body.total).toBe(1);
    expect((await adv({ room_id: roomId })).body.total).toBeGreaterThanOrEqual(3);
    // today in Seoul includes everything just written; yesterday nothing
    const seoul = (t: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(t);
    const today = seoul(Date.now());
    const yesterday = seoul(Date.now() - 86_400_000);
    expect((await adv({ date_from: today, date_to: today, time_zone: 'Asia/Seoul' })).body.total).toBeGreaterThanOrEqual(3);
    expect((await adv({ date_from: yesterday, date_to: yesterday, time_zone: 'Asia/Seoul' })).body.total).toBe(0);
    // a file's name is searchable, and files_only keeps only messages with files
    const up = await uploadTo(server, alice, roomId, '회의 자료.pdf', pdf());
    await write(seg, alice, ['첨부 확인'], { attachments: [attachmentOf(up.body)] } as Partial<Message>);
    const files = await adv({ files_only: true });
    expect(files.body.total).toBe(1);
    expect(files.body.results[0].snippet.text).toContain('회의 자료.pdf');
    // the file deleted: its name is no longer found, nor the message among messages with files
    expect((await alice.api('DELETE', `/api/files/${up.body.file.id}`)).status).toBe(204);
    expect((await search(bob, '자료')).body.total).toBe(0);
    expect((await adv({ files_only: true })).body.total).toBe(0);
    expect((await search(bob, '첨부')).body.total).toBe(1);
    for (const [body, code] of [[{ date_from: '2026-13-01' }, 'validation-failed'], [{ time_zone: 'Mars/Base' }, 'validation-failed'], [{ extra: 1 }, 'validation-failed'], [{ limit: 'x' }, 'invalid-limit'], [{ offset: -1 }, 'invalid-offset']] as const) {
      const r = await adv(body);
      expect([JSON.stringify(body), r.status, r.body.error.code]).toEqual([JSON.stringify(body), 400, code]);
    }
  });

  it('clamps limits to 1..100 and refuses bad paging with its own codes', async () => {
    const many = await write(seg, alice, Array.from({ length: 30 }, (_, i) => `페이지 테스트 ${i}`));
    expect((await search(bob, '페이지', '&limit=1000')).body.results).toHaveLength(30);
    expect((await search(bob, '페이지', '&limit=0')).body.results).toHaveLength(1);
    const p1 = await search(bob, '페이지', '&limit=10');
    const p2 = await search(bob, '페이지', '&limit=10&offset=10');
    expect(p1.body.total).toBe(30);
    expect(p2.body.total).toBe(30);
    expect(new Set([...p1.body.results, ...p2.body.results].map((x: any) => x.messageId)).size).toBe(20);
    expect(many).toHaveLength(30);
    for (const [qs, code] of [['&limit=abc', 'invalid-limit'], ['&offset=-3', 'invalid-offset'], ['&offset=x', 'invalid-offset'], ['&offset=99999', 'invalid-offset']]) {
      const r = await search(bob, '페이지', qs);
      expect([qs, r.status, r.body.error.code]).toEqual([qs, 400, code]);
    }
    expect((await search(bob, '')).body.error.code).toBe('validation-failed');
    expect((await search(bob, '!!! ???')).body).toEqual({ results: [], total: 0, totalCapped: false });
  });

  it('pages across the whole-word part and the rest without gaps or repeats', async () => {
    await write(seg, alice, ['분기 정산 1', '분기정산서 1', '분기 정산 2', '분기정산서 2', '분기 정산 3', '분기정산서 3', '분기정산서 4']);
    const all = (await search(bob, '정산', '&limit=100')).body;
    expect(all.total).toBe(7);
    const order = all.results.map((x: any) => x.messageId);
    const texts7 = texts({ body: all });
    expect(texts7.slice(0, 3)).toEqual(['분기 정산 3', '분기 정산 2', '분기 정산 1']);
    const paged: string[] = [];
    for (let offset = 0; offset < 7; offset += 2) paged.push(...(await search(bob, '정산', `&limit=2&offset=${offset}`)).body.results.map((x: any) => x.messageId));
    expect(paged).toEqual(order);
  });

  it('is rate-limited at 30 a minute per user (the old product documented this)', async () => {
    const limited = await startServer({}, { rateLimits: TEST_LIMITS });
    try {
      const u = await makeUser(limited);
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) statuses.push((await u.api('GET', '/api/search?q=x')).status);
      expect(statuses).toEqual([...Array(30).fill(200), 429]);
      expect((await u.api('POST', '/api/search/advanced', { query: 'x' })).body.error.code).toBe('rate-limited');
    } finally {
      await limited.close();
    }
  });
});

describe('the index', () => {
  it('equals a rebuild from the documents (npm run reindex)', async () => {
    const db = server.app.services.db;
    const rows = () => db.prepare('SELECT room_id, message_id, segment, author, at, text FROM search_messages ORDER BY room_id, message_id').all();
    const hits = async () => Promise.all(['회의', '배포', 'qa', '페이지', '수정후', '오프라인'].map(async (q) => (await search(alice, q, '&limit=100')).body));
    const before = rows();
    const beforeHits = await hits();
    expect(before.length).toBeGreaterThan(40);
    const count = server.app.services.search.rebuild();
    expect(count).toBe(before.length);
    expect(rows()).toEqual(before);
    expect(await hits()).toEqual(beforeHits);
  });
});
