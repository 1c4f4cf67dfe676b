/**
 * Seeded conversations for the timeline tests: messages written by real providers of each sender
 * (as their own apps would), acknowledged and given receipts by the server before the browser opens
 * the room. Also used to measure the timeline's height (issue 11: "40 messages in about half").
 */
import type { TestServer, TestUser } from '../helpers/server.ts';
import { acked, connectSocket, openDoc, post, receiptsOf } from '../helpers/collab.ts';
import { SEGMENT_REACTIONS, reactionKey } from '../../src/lib/protocol/schema.ts';
import { waitFor } from '../helpers/server.ts';

/** A workday chat: short lines, a few long ones, a link, in runs by the same sender. */
export const CONVERSATION: Line[] = [
  { who: 1, text: '오늘 배포 일정 공유드려요' },
  { who: 1, text: '오후 3시에 스테이징 반영하고' },
  { who: 1, text: '문제 없으면 6시에 운영 반영합니다' },
  { who: 2, text: '넵 확인했습니다' },
  { who: 2, text: 'QA 체크리스트는 대시보드에 올려둘게요' },
  { who: 0, text: '좋아요. 저는 릴리스 노트 정리할게요' },
  { who: 1, text: '감사합니다 🙏' },
  { who: 2, text: '혹시 이번 버전에 로그인 화면 변경도 들어가나요?' },
  { who: 1, text: '네 들어갑니다. 디자인 시안은 여기 있어요 https://wiki.corp/design/login-2026-renewal/final-v3?tab=comments&page=2' },
  { who: 1, text: '피드백 있으면 오늘 중으로 주세요' },
  { who: 0, text: '확인해 볼게요' },
  { who: 0, text: '버튼 색이 조금 연한 것 같아요' },
  { who: 0, text: '다크 모드에서도 한번 봐 주세요' },
  { who: 2, text: '저도 같은 생각이에요' },
  { who: 2, text: '대비가 부족해 보여요' },
  { who: 1, text: '알겠습니다. 디자이너분께 전달할게요' },
  { who: 1, text: '점심 먹고 다시 얘기해요' },
  { who: 2, text: '👍' },
  { who: 0, text: '넵' },
  { who: 1, text: '다녀왔습니다' },
  { who: 1, text: '수정된 시안 올라왔어요' },
  { who: 1, text: '버튼 대비를 4.5:1 이상으로 맞췄고, 다크 모드 색도 따로 정했습니다. 로그인 실패 문구도 더 짧게 바꿨어요.' },
  { who: 2, text: '훨씬 좋네요' },
  { who: 2, text: '이대로 가죠' },
  { who: 0, text: '저도 좋아요' },
  { who: 0, text: '릴리스 노트 초안 공유할게요' },
  { who: 0, text: '1. 로그인 화면 개편\n2. 알림 설정 추가\n3. 파일 미리보기 속도 개선' },
  { who: 1, text: '깔끔하네요' },
  { who: 1, text: '2번은 "알림 설정 개선"이 더 맞을 것 같아요' },
  { who: 0, text: '반영했어요' },
  { who: 2, text: '스테이징 반영 끝났습니다' },
  { who: 2, text: '체크리스트 12개 중 11개 통과' },
  { who: 2, text: '나머지 하나는 알려진 이슈라 괜찮아요' },
  { who: 1, text: '수고하셨어요' },
  { who: 1, text: '6시에 운영 반영 진행합니다' },
  { who: 0, text: '넵 대기하고 있을게요' },
  { who: 1, text: '운영 반영 완료했습니다' },
  { who: 1, text: '모니터링 30분 정도 더 볼게요' },
  { who: 2, text: '고생 많으셨습니다!' },
  { who: 0, text: '다들 수고하셨어요 🎉' },
];

export interface Seeded {
  ids: string[];
}

/**
 * Writes `lines` into segment 0 of the room, each by `senders[line.who]`, in order (one message
 * acknowledged before the next, so the receipts keep the order), plus `reactions` (message index,
 * sender index, emoji).
 */
export interface Line {
  who: number;
  text: string;
  /** Index (in `lines`) of the message this one answers. */
  replyTo?: number;
}

export async function seedConversation(
  server: TestServer,
  roomId: string,
  senders: TestUser[],
  lines: Line[],
  reactions: [number, number, string][] = [],
  /** Runs before each message is written (a test clock moving on). */
  before?: (i: number) => void,
): Promise<Seeded> {
  // one socket per person: a socket carries one user's session
  const sockets = senders.map(() => connectSocket(server.wsUrl));
  try {
    const docs = await Promise.all(senders.map((u, i) => openDoc(sockets[i], `room:${roomId}:0`, u.token)));
    const ids: string[] = [];
    for (const [i, line] of lines.entries()) {
      before?.(i);
      const d = docs[line.who];
      const id = post(d.doc, senders[line.who].id, line.text, line.replyTo === undefined ? {} : { replyTo: ids[line.replyTo] });
      ids.push(id);
      await acked(d.provider);
      await waitFor(() => receiptsOf(d.doc).has(id), { message: 'receipt' });
    }
    for (const [i, who, emoji] of reactions) docs[who].doc.getMap(SEGMENT_REACTIONS).set(reactionKey(ids[i], senders[who].id, emoji), { at: Date.now() });
    await Promise.all(docs.map((d) => acked(d.provider)));
    for (const d of docs) d.provider.destroy();
    return { ids };
  } finally {
    for (const s of sockets) s.destroy();
  }
}
