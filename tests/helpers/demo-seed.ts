/**
 * A lived-in workspace for the accessibility test and `npm run screenshots` (issue 11 §15–16): real
 * users registered through the API (the first is the server admin), a Korean group room and an
 * English one with a conversation each — emoji, a reply, reactions, read counts, an image and a PDF,
 * a poll with votes, a pinned notice — plus a 1:1 chat and a quiet room. Everything goes through the
 * real server: `/api` for accounts, rooms, pins, polls, votes and reads, the users' own Hocuspocus
 * providers for messages and reactions (as the web app writes them).
 */
import { acked, connectSocket, openDoc, post, receiptsOf, type OpenDoc } from './collab.ts';
import { apiClient, makeRoom, waitFor, type TestServer, type TestUser } from './server.ts';
import { attachmentOf, pdf, png, uploadTo } from './uploads.ts';
import { SEGMENT_REACTIONS, reactionKey, type Message, type Reaction } from '../../src/lib/protocol/schema.ts';
import type { HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import type { Clock } from '../../server/domain/deps.ts';

export interface DemoUser extends TestUser {
  displayName: string;
}

export interface DemoRoom {
  id: string;
  name: string;
  /** message ids by a short label (e.g. `image`, `reply`) */
  messages: Record<string, string>;
}

export interface Demo {
  /** the server admin (first account), a member of every room; views the Korean screens */
  admin: DemoUser;
  /** views the English screens */
  emily: DemoUser;
  users: DemoUser[];
  /** the Korean group room (pin, poll, files, reactions) */
  ko: DemoRoom;
  /** the English group room (pin, poll, files, reactions) */
  en: DemoRoom;
  /** a 1:1 chat between the admin and Emily */
  direct: DemoRoom;
  /** the password of every demo account */
  password: string;
}

const PASSWORD = 'demo-password-1';

/**
 * The server's clock, set back while the past is seeded (receipts, pins and polls carry the server's
 * time: a conversation of yesterday and today, not sixty messages of this minute). Pass it to the
 * server (`startServer(config, { clock })`); without it everything happens now.
 */
export class DemoClock implements Clock {
  lag = 0;
  now(): number {
    return Date.now() - this.lag;
  }
}

async function register(server: TestServer, username: string, displayName: string, statusMessage = ''): Promise<DemoUser> {
  const res = await apiClient(server.url)('POST', '/api/register', { username, password: PASSWORD, displayName });
  if (res.status !== 201) throw new Error(`register ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
  const user: DemoUser = { id: res.body.user.id, username, token: res.body.token, api: apiClient(server.url, res.body.token), displayName };
  if (statusMessage) await user.api('PATCH', '/api/me', { statusMessage });
  return user;
}

/** Something else that happens in the room at that time (a pin, a poll). */
interface Happening {
  ago: number;
  run: () => Promise<void>;
}

/** One line of a conversation: who says what, and optionally reactions, a reply or files. */
interface Line {
  by: DemoUser;
  text: string;
  label?: string;
  replyTo?: string;
  files?: { name: string; data: Buffer }[];
  reactions?: [DemoUser, string][];
  /** minutes before "now" */
  ago: number;
}

/** Writes the conversation into the room's open segment, each message acknowledged and receipted. */
async function converse(server: TestServer, clock: DemoClock | undefined, roomId: string, lines: (Line | Happening)[], members: DemoUser[]): Promise<Record<string, string>> {
  const sockets = new Map<string, HocuspocusProviderWebsocket>();
  const docs = new Map<string, OpenDoc>();
  const ids: Record<string, string> = {};
  const segment = (await members[0].api('GET', `/api/rooms/${roomId}`)).body.room.openSegment as number;
  const docOf = async (user: DemoUser) => {
    let d = docs.get(user.id);
    if (!d) {
      const socket = connectSocket(server.wsUrl);
      sockets.set(user.id, socket);
      docs.set(user.id, (d = await openDoc(socket, `room:${roomId}:${segment}`, user.token)));
    }
    return d;
  };
  try {
    for (const line of lines) {
      if (clock) clock.lag = line.ago * 60_000;
      if ('run' in line) {
        await line.run();
        continue;
      }
      const d = await docOf(line.by);
      const attachments = [];
      for (const f of line.files ?? []) {
        const up = await uploadTo(server, line.by, roomId, f.name, f.data);
        if (up.status !== 201) throw new Error(`upload ${f.name} failed: ${up.status} ${JSON.stringify(up.body)}`);
        attachments.push(attachmentOf(up.body));
      }
      const extra: Partial<Message> = { createdAt: Date.now() - line.ago * 60_000 };
      if (line.replyTo) extra.replyTo = ids[line.replyTo];
      if (attachments.length) extra.attachments = attachments;
      const id = post(d.doc, line.by.id, line.text, extra);
      await acked(d.provider);
      await waitFor(() => receiptsOf(d.doc).get(id), { timeout: 15_000, message: 'receipt' });
      if (line.label) ids[line.label] = id;
      for (const [user, emoji] of line.reactions ?? []) {
        const r = await docOf(user);
        r.doc.getMap<Reaction>(SEGMENT_REACTIONS).set(reactionKey(id, user.id, emoji), { at: Date.now() });
        await acked(r.provider);
      }
    }
  } finally {
    if (clock) clock.lag = 0;
    for (const s of sockets.values()) s.destroy();
  }
  return ids;
}

/** Beyond any receipt: the server clamps a read position to the room's last message. */
const ALL = Number.MAX_SAFE_INTEGER;

async function markRead(user: DemoUser, roomId: string, seq: number): Promise<void> {
  const res = await user.api('PUT', `/api/rooms/${roomId}/read`, { seq });
  if (res.status !== 200) throw new Error(`read failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Creates a poll and casts the votes ([voter, option index]); throws on a refusal. */
async function poll(by: DemoUser, roomId: string, question: string, options: string[], votes: [DemoUser, number][]): Promise<void> {
  const res = await by.api('POST', `/api/rooms/${roomId}/polls`, { question, options, multiple: false, anonymous: false, endsAt: null });
  if (res.status !== 201) throw new Error(`poll failed: ${res.status} ${JSON.stringify(res.body)}`);
  const ids = res.body.poll.options.map((o: { id: string }) => o.id);
  for (const [voter, option] of votes) {
    const vote = await voter.api('POST', `/api/polls/${res.body.poll.id}/vote`, { optionIds: [ids[option]] });
    if (vote.status !== 200) throw new Error(`vote failed: ${vote.status} ${JSON.stringify(vote.body)}`);
  }
}

async function pin(by: DemoUser, roomId: string, text: string): Promise<void> {
  const res = await by.api('POST', `/api/rooms/${roomId}/pins`, { text });
  if (res.status !== 201) throw new Error(`pin failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** `clock`: the server's (see DemoClock), for a conversation spread over yesterday and today. */
export async function seedDemo(server: TestServer, clock?: DemoClock): Promise<Demo> {
  /** The server's time from now on: `ago` minutes before now. */
  const at = (ago: number) => {
    if (clock) clock.lag = ago * 60_000;
  };
  const DAY = 24 * 60;
  at(20 * DAY); // within the sliding session lifetime (SESSION_DAYS, 30 by default)
  // the first account of a server is its admin
  const admin = await register(server, 'jihoon_kim', '김지훈', '오늘은 사무실에 있어요');
  const sua = await register(server, 'sua_choi', '최수아', '재택근무 중 🏠');
  const minjun = await register(server, 'minjun_park', '박민준');
  const emily = await register(server, 'emily_carter', 'Emily Carter', 'Out Friday afternoon');
  const david = await register(server, 'david_lee', 'David Lee');
  const users = [admin, sua, minjun, emily, david];

  const [sky, teal, sand] = await Promise.all([png(1200, 800, '#4a7fd4'), png(900, 900, '#2f9e8f'), png(640, 960, '#d9a45b')]);
  const report = pdf('Q3 report');

  // ---- Korean design team -------------------------------------------------------------------
  at(7 * DAY);
  const koRoom = await makeRoom(admin, [sua, minjun, emily], { name: '디자인 팀' });
  const koIds = await converse(
    server,
    clock,
    koRoom.id,
    [
      { by: sua, text: '안녕하세요! 다음 주 워크숍 장소가 정해졌어요 🎉', ago: DAY + 130, reactions: [[minjun, '👍'], [admin, '🎉']] },
      { by: minjun, text: '오 드디어! 어디로 정해졌어요?', ago: DAY + 128 },
      { by: sua, text: '제주 한림읍 쪽이에요. 바다 바로 앞이에요 🌊', label: 'place', ago: DAY + 127, files: [{ name: '제주 바다.png', data: sky }] },
      { by: sua, text: '숙소는 2인 1실이고, 방 배정은 금요일까지 알려 드릴게요.', ago: DAY + 127 },
      { ago: DAY + 120, run: () => pin(sua, koRoom.id, '📌 워크숍: 10월 14일(화) 오전 9시 김포공항 3층 집합. 신분증 꼭 챙겨 주세요!') },
      { by: admin, text: '좋네요. 일정표는 https://wiki.intra.example/workshop/2026-jeju 에 올려 두었어요.', ago: 95 },
      { ago: 90, run: () => poll(admin, koRoom.id, '워크숍 점심 메뉴는 뭐가 좋을까요?', ['고기국수', '전복돌솥밥', '흑돼지 구이'], [[sua, 0], [minjun, 1], [emily, 0]]) },
      { by: minjun, text: '포스터 시안 두 가지 올려요. 피드백 부탁드려요!', ago: 40, files: [{ name: '시안 A.png', data: teal }, { name: '시안 B.png', data: sand }], reactions: [[sua, '❤️'], [admin, '👍'], [emily, '👍']] },
      { by: minjun, text: '저는 A가 조금 더 나은 것 같아요.', ago: 40 },
      { by: sua, text: '3분기 실적 보고서 최종본이에요. 워크숍 때 같이 봐요.', ago: 30, files: [{ name: '2026년 3분기 실적 보고서_최종본.pdf', data: report }] },
      { by: admin, text: '감사합니다. 내일 회의 전까지 읽어 볼게요 🙏', replyTo: 'place', ago: 12 },
      { by: emily, text: '저도 참석할게요! 한국어 공부 중이에요 😊', ago: 5, reactions: [[sua, '😊'], [minjun, '👏']] },
    ],
    [admin, sua, minjun, emily],
  );

  // ---- English launch team ------------------------------------------------------------------
  at(7 * DAY);
  const enRoom = await makeRoom(admin, [emily, david, sua], { name: 'Launch Team' });
  // both run the room: the admin and Emily (who views the English screens) see its settings
  await admin.api('PUT', `/api/rooms/${enRoom.id}/admins/${emily.id}`, { admin: true });
  const enIds = await converse(
    server,
    clock,
    enRoom.id,
    [
      { by: david, text: 'Morning all! The release candidate is up on staging 🚀', ago: DAY + 100, reactions: [[emily, '🚀'], [admin, '👍']] },
      { by: emily, text: 'Nice. I will run the checklist after standup.', ago: DAY + 97 },
      { ago: DAY + 90, run: () => pin(david, enRoom.id, 'Code freeze Thursday 18:00. Ping David before merging anything to main.') },
      { by: admin, text: '체크리스트는 https://wiki.intra.example/release/checklist 에 있어요 (Korean + English).', ago: 80 },
      { ago: 70, run: () => poll(emily, enRoom.id, 'When should we ship?', ['Tuesday', 'Thursday', 'Next Monday'], [[david, 1], [admin, 1], [sua, 0]]) },
      { by: david, text: 'Here is the new onboarding screen', label: 'image', ago: 45, files: [{ name: 'onboarding.png', data: teal }], reactions: [[emily, '😍'], [sua, '👍']] },
      { by: david, text: 'Dark mode is next on my list.', ago: 45 },
      { by: sua, text: 'Looks great! Can we make the button a bit larger on phones?', replyTo: 'image', ago: 20 },
      { by: emily, text: 'Agreed 👍 Release notes attached.', ago: 8, files: [{ name: 'release-notes-v2.4.pdf', data: report }] },
    ],
    [emily, admin, david, sua],
  );

  // ---- a 1:1 chat and a quiet room ------------------------------------------------------------
  at(DAY);
  const direct = await admin.api('POST', '/api/rooms', { memberIds: [emily.id] });
  if (direct.status !== 201) throw new Error(`direct room failed: ${direct.status} ${JSON.stringify(direct.body)}`);
  const directRoom = direct.body.room as { id: string };
  const directIds = await converse(
    server,
    clock,
    directRoom.id,
    [
      { by: emily, text: 'Jihoon, do you have a minute after lunch?', ago: 50 },
      { by: admin, text: '네, 1시 반 어때요? ☕', ago: 48 },
      { by: emily, text: 'Perfect, see you then!', ago: 47, reactions: [[admin, '👍']] },
    ],
    [admin, emily],
  );
  at(3 * DAY);
  const lunch = await makeRoom(minjun, [admin, sua], { name: '점심 메이트 🍜' });
  await converse(server, clock, lunch.id, [{ by: minjun, text: '오늘 점심 국수 어때요? 🍜', ago: 2 * DAY }], [minjun]);

  at(0);
  // read positions: some read everything, some are behind (read counts beside the messages)
  for (const [u, room] of [[sua, koRoom.id], [emily, koRoom.id], [admin, koRoom.id], [emily, enRoom.id], [david, enRoom.id], [emily, directRoom.id], [admin, directRoom.id], [admin, lunch.id]] as const) {
    await markRead(u, room, ALL);
  }
  await markRead(minjun, koRoom.id, 2);

  return {
    admin,
    emily,
    users,
    ko: { id: koRoom.id, name: '디자인 팀', messages: koIds },
    en: { id: enRoom.id, name: 'Launch Team', messages: enIds },
    direct: { id: directRoom.id, name: 'Emily Carter', messages: directIds },
    password: PASSWORD,
  };
}
