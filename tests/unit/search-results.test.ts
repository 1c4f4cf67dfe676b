/**
 * The app's message search as pure logic (src/lib/search/results.ts, budget.ts, format.ts): the
 * offline search finds what the server's index finds (same tokenizer), ranks the same way (whole
 * words first, then newest), applies the same filters, and online results merge with what only
 * the device has without showing a message twice.
 */
import { describe, expect, it } from 'vitest';
import { activeFilters, dayRange, mergeHits, NO_FILTERS, searchEntries, snippetParts, wholeWords, type LocalEntry, type SearchHit } from '../../src/lib/search/results.ts';
import { SearchBudget } from '../../src/lib/search/budget.ts';
import { formatCount, hitTime } from '../../src/lib/search/format.ts';
import { queryTerms } from '../../src/lib/search/tokenize.ts';
import { shortcutFor } from '../../src/lib/shell/shortcuts.ts';
import { messagePath, searchPath } from '../../src/lib/search/paths.ts';
import type { Message } from '../../src/lib/protocol/schema.ts';

let n = 0;
function entry(text: string, opts: { room?: string; author?: string; at?: number | null; segment?: number; files?: string[]; id?: string; movedTo?: number; deleted?: boolean } = {}): LocalEntry {
  const id = opts.id ?? `msg${String(++n).padStart(6, '0')}`;
  const at = opts.at === undefined ? 1_700_000_000_000 + n * 1000 : opts.at;
  const message: Message = {
    id,
    author: opts.author ?? 'alice_id_1',
    text,
    createdAt: at ?? 1_800_000_000_000 + n,
    ...(opts.files ? { attachments: opts.files.map((name, i) => ({ id: `file${i}xxxxx`, token: 'tok'.repeat(6), name, size: 1, type: 'application/pdf' })) } : {}),
    ...(opts.deleted ? { deleted: true as const } : {}),
  };
  return { roomId: opts.room ?? 'room_aaaa', segment: opts.segment ?? 0, message, receipt: at === null ? null : { seq: n, at, ...(opts.movedTo !== undefined ? { movedTo: opts.movedTo } : {}) } };
}
const ids = (hits: SearchHit[]) => hits.map((h) => h.messageId);
const search = (entries: LocalEntry[], q: string, filters = NO_FILTERS, extra = {}) => searchEntries(entries, q, { filters, ...extra });

describe('offline search', () => {
  it('finds a two-syllable Korean word inside a longer one, with highlights', () => {
    const hit = entry('내일 회의록을 공유합니다');
    const other = entry('점심 메뉴 정했어요');
    const [found, ...rest] = search([hit, other], '회의');
    expect(rest).toEqual([]);
    expect(found.messageId).toBe(hit.message.id);
    expect(found.snippet.text.slice(...found.snippet.highlights[0])).toBe('회의');
    expect(search([hit], '회의록').map((h) => h.messageId)).toEqual([hit.message.id]);
    expect(search([hit], '의록공')).toEqual([]); // grams in order, not across words
  });

  it('ranks whole-word matches first, then newest first', () => {
    const older = entry('회의 자료입니다', { at: 1000 });
    const newer = entry('회의 시간 변경', { at: 3000 });
    const inside = entry('주간회의록을 봤어요', { at: 5000 });
    expect(ids(search([inside, older, newer], '회의'))).toEqual([newer.message.id, older.message.id, inside.message.id]);
    expect(wholeWords('회의 자료', queryTerms('회의'))).toBe(true);
    expect(wholeWords('회의록을', queryTerms('회의'))).toBe(false);
  });

  it('matches Latin words by prefix and ANDs the terms', () => {
    const a = entry('Deployment of v2 tomorrow');
    const b = entry('deploy notes');
    expect(ids(search([a, b], 'DEPLOY')).sort()).toEqual([a.message.id, b.message.id].sort());
    expect(ids(search([a, b], 'deploy tomorrow'))).toEqual([a.message.id]);
    expect(search([a, b], 'ploy')).toEqual([]);
  });

  it('applies the room, sender, day and files filters', () => {
    const day = (y: number, m: number, d: number, h = 12) => new Date(y, m - 1, d, h).getTime();
    const inRoom = entry('예산 보고', { room: 'room_bbbb', at: day(2026, 3, 5) });
    const byBob = entry('예산 초안', { author: 'bob_id_22', at: day(2026, 3, 6) });
    const withFile = entry('예산 첨부', { files: ['예산안.xlsx'], at: day(2026, 3, 7, 23) });
    const all = [inRoom, byBob, withFile];
    expect(ids(search(all, '예산', { ...NO_FILTERS, roomId: 'room_bbbb' }))).toEqual([inRoom.message.id]);
    expect(ids(search(all, '예산', { ...NO_FILTERS, senderId: 'bob_id_22' }))).toEqual([byBob.message.id]);
    expect(ids(search(all, '예산', { ...NO_FILTERS, filesOnly: true }))).toEqual([withFile.message.id]);
    // inclusive days in the user's zone: 6 March up to the end of 7 March
    expect(ids(search(all, '예산', { ...NO_FILTERS, dateFrom: '2026-03-06', dateTo: '2026-03-07' }))).toEqual([withFile.message.id, byBob.message.id]);
    expect(dayRange({ dateFrom: '2026-03-06', dateTo: '2026-03-06' })).toEqual({ from: day(2026, 3, 6, 0), to: day(2026, 3, 7, 0) });
    expect(dayRange({ dateFrom: 'yesterday', dateTo: null })).toEqual({ from: null, to: null });
  });

  it('searches file names, never tombstones, erased or moved-away copies', () => {
    const file = entry('', { files: ['회의록_3월.pdf'] });
    const gone = entry('', { deleted: true });
    const erased = entry('오래된 회의', { at: 500 });
    const moved = entry('옮겨진 회의', { id: 'movedmsg1', segment: 0, movedTo: 1 });
    const movedCopy = entry('옮겨진 회의', { id: 'movedmsg1', segment: 1 });
    const hits = search([file, gone, erased, moved, movedCopy], '회의', NO_FILTERS, { horizon: () => 1000 });
    expect(ids(hits).sort()).toEqual([file.message.id, 'movedmsg1'].sort());
    expect(hits.find((h) => h.messageId === 'movedmsg1')!.segment).toBe(1);
  });

  it('keeps one entry per message, the accepted one over a pending copy, and marks pending ones', () => {
    const accepted = entry('회의 안건', { id: 'samemsg01', segment: 1 });
    const pending = entry('회의 안건', { id: 'samemsg01', segment: 0, at: null });
    const mine = entry('회의 메모', { at: null });
    const hits = search([pending, accepted, mine], '회의');
    expect(hits.filter((h) => h.messageId === 'samemsg01')).toHaveLength(1);
    expect(hits.find((h) => h.messageId === 'samemsg01')!.pending).toBe(false);
    expect(hits.find((h) => h.messageId === mine.message.id)!.pending).toBe(true);
    expect(ids(search([accepted, mine], '회의', NO_FILTERS, { pendingOnly: true }))).toEqual([mine.message.id]);
  });
});

describe('online and device results together', () => {
  const hit = (roomId: string, messageId: string, pending = false): SearchHit => ({ roomId, messageId, segment: 0, senderId: 'u', at: 1, snippet: { text: 'x', highlights: [] }, pending });

  it('puts the server first, then what only the device has, each message once', () => {
    const server = [hit('r1', 'a'), hit('r2', 'b')];
    const device = [hit('r1', 'c', true), hit('r2', 'b'), hit('r1', 'a', true), hit('r2', 'a', true)];
    expect(mergeHits(server, device).map((h) => `${h.roomId}/${h.messageId}`)).toEqual(['r1/a', 'r2/b', 'r1/c', 'r2/a']);
  });

  it('renders highlights as pieces of text, whatever the ranges', () => {
    expect(snippetParts({ text: '내일 회의록을', highlights: [[3, 5]] })).toEqual([
      { text: '내일 ', mark: false },
      { text: '회의', mark: true },
      { text: '록을', mark: false },
    ]);
    // unsorted, overlapping and out-of-range ranges never break the text
    const parts = snippetParts({ text: '<b>abc</b>', highlights: [[8, 99], [3, 4], [2, 4]] });
    expect(parts.map((p) => p.text).join('')).toBe('<b>abc</b>');
    expect(parts.filter((p) => p.mark).map((p) => p.text)).toEqual(['>a', 'b>']);
  });

  it('counts the filters that narrow the search', () => {
    expect(activeFilters(NO_FILTERS)).toBe(0);
    expect(activeFilters({ roomId: 'r', senderId: 's', dateFrom: '2026-01-01', dateTo: '2026-01-02', filesOnly: true })).toBe(4);
  });
});

describe('search budget and formats', () => {
  it('stays under 90 % of the published limit and waits out a 429', () => {
    const budget = new SearchBudget(() => ({ points: 30, durationSec: 60 }));
    const t0 = 1_000_000;
    for (let i = 0; i < 27; i++) {
      expect(budget.wait(t0 + i)).toBe(0);
      budget.take(t0 + i);
    }
    expect(budget.wait(t0 + 30)).toBe(60_000 - 30);
    expect(budget.wait(t0 + 60_001)).toBe(0);
    // the server said 429 with Retry-After 12, then without: a doubling back-off
    expect(budget.limited(t0 + 70_000, 12)).toBe(12_000);
    expect(budget.wait(t0 + 70_000)).toBe(12_000);
    expect(budget.limited(t0 + 90_000)).toBe(10_000);
    budget.ok();
    expect(budget.limited(t0 + 200_000)).toBe(5_000);
  });

  it('writes times and counts in the reader’s language', () => {
    const now = new Date(2026, 4, 20, 15, 0).getTime();
    expect(hitTime(new Date(2026, 4, 20, 9, 5).getTime(), 'en-US', now)).toBe('9:05 AM');
    expect(hitTime(new Date(2026, 2, 3, 14, 7).getTime(), 'ko-KR', now)).toMatch(/^3월 3일 .*2:07$/); // 오후 (or PM with Node's ICU data)
    expect(hitTime(new Date(2024, 11, 31, 8).getTime(), 'en-US', now)).toBe('Dec 31, 2024');
    expect(formatCount(1000, 'ko-KR')).toBe('1,000');
  });

  it('opens message search with Ctrl/Cmd+Shift+F, also from a text field, never while composing Hangul', () => {
    const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean; isComposing: boolean }>) => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
    expect(shortcutFor(key('F', { ctrlKey: true, shiftKey: true }), true)).toBe('search');
    expect(shortcutFor(key('f', { metaKey: true, shiftKey: true }), false)).toBe('search');
    expect(shortcutFor(key('f', { ctrlKey: true }), false)).toBeNull(); // the browser's own find stays
    expect(shortcutFor(key('F', { ctrlKey: true, shiftKey: true, isComposing: true }), true)).toBeNull();
  });

  it('links to a search and to a message in its room', () => {
    expect(searchPath('회의 자료', 'room_aaaa')).toBe('/search?q=%ED%9A%8C%EC%9D%98+%EC%9E%90%EB%A3%8C&room=room_aaaa');
    expect(searchPath('', null)).toBe('/search');
    expect(messagePath('room_aaaa', 'msg_1234', 3)).toBe('/rooms/room_aaaa?m=msg_1234&s=3');
  });
});
