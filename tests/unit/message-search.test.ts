/**
 * The search page's state (src/lib/search/message-search.svelte.ts) against a fake `fetch` (the
 * app's edge) and a fake clock: typing is debounced into one request, pages follow, a capped total
 * stays capped, `429` and an unreachable server fall back to the device's messages with the reason,
 * offline never asks the server, and pending messages of the device follow the server's results.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MessageSearch } from '../../src/lib/search/message-search.svelte.ts';
import type { LocalMessages } from '../../src/lib/search/local-copies.ts';
import type { LocalEntry } from '../../src/lib/search/results.ts';
import type { ServerResult } from '../../src/lib/search/api.ts';

const result = (i: number): ServerResult => ({ roomId: 'room_aaaa', messageId: `server${i}`, segment: 0, senderId: 'alice_id', at: 1000 + i, snippet: { text: `회의 ${i}`, highlights: [[0, 2]] } });
const local: LocalEntry[] = [
  { roomId: 'room_aaaa', segment: 0, message: { id: 'server1', author: 'alice_id', text: '회의 1', createdAt: 1 }, receipt: { seq: 1, at: 1001 } },
  { roomId: 'room_aaaa', segment: 0, message: { id: 'mine0001', author: 'me_id_001', text: '회의 메모', createdAt: 5000 }, receipt: null },
];

let calls: { url: string; body: unknown }[];
let answer: (url: string, body: any) => Response;
let online: boolean;

function make(): MessageSearch {
  return new MessageSearch({
    online: () => online,
    limit: () => ({ points: 30, durationSec: 60 }),
    local: () => ({ entries: async () => local }) as unknown as LocalMessages,
    horizon: () => 0,
  });
}
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

beforeEach(() => {
  vi.useFakeTimers();
  calls = [];
  online = true;
  answer = (_url, body) => {
    const offset = Number(new URL('http://x' + _url).searchParams.get('offset') ?? body?.offset ?? 0);
    return json({ results: Array.from({ length: 20 }, (_, i) => result(offset + i)), total: 1000, totalCapped: true });
  };
  vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ url, body });
    return answer(url, body);
  });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('message search state', () => {
  it('debounces typing into one request, pages on, keeps a capped total capped', async () => {
    const s = make();
    for (const q of ['ㅎ', '회', '회ㅇ', '회의']) {
      s.setQuery(q);
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(500);
    expect(calls.map((c) => new URL('http://x' + c.url).searchParams.get('q'))).toEqual(['회의']);
    expect(s.status).toBe('done');
    expect(s.source).toBe('server');
    expect(s.total).toBe(1000);
    expect(s.totalCapped).toBe(true);
    // the server's twenty, then the device's pending message (the other device copy is a duplicate)
    expect(s.hits.map((h) => h.messageId)).toEqual([...Array.from({ length: 20 }, (_, i) => `server${i}`), 'mine0001']);
    expect(s.hits.at(-1)!.pending).toBe(true);
    expect(s.hasMore).toBe(true);
    await s.loadMore();
    expect(new URL('http://x' + calls[1].url).searchParams.get('offset')).toBe('20');
    expect(s.hits.filter((h) => !h.pending)).toHaveLength(40);
    s.destroy();
  });

  it('uses the advanced search for filters, with the day range in the user’s time zone', async () => {
    const s = make();
    s.query = '회의';
    s.setFilters({ senderId: 'alice_id', dateFrom: '2026-03-01', dateTo: '2026-03-31', filesOnly: true, roomId: 'room_aaaa' });
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe('/api/search/advanced');
    expect(calls[0].body).toMatchObject({ query: '회의', room_id: 'room_aaaa', sender_id: 'alice_id', date_from: '2026-03-01', date_to: '2026-03-31', files_only: true, limit: 20, offset: 0, time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone });
    s.destroy();
  });

  it('on 429 shows the device’s results with the wait, then asks the server after Retry-After', async () => {
    const s = make();
    answer = () => json({ error: { code: 'rate-limited', message: 'slow down' } }, 429, { 'retry-after': '7' });
    s.setQuery('회의');
    await vi.advanceTimersByTimeAsync(500);
    expect(s.source).toBe('rate-limited');
    expect(s.retryIn).toBe(7);
    expect(s.hits.map((h) => h.messageId)).toEqual(['mine0001', 'server1']);
    answer = () => json({ results: [result(1)], total: 1, totalCapped: false });
    await vi.advanceTimersByTimeAsync(3000);
    expect(calls).toHaveLength(1);
    expect(s.retryIn).toBe(4);
    await vi.advanceTimersByTimeAsync(4100);
    expect(calls).toHaveLength(2);
    expect(s.source).toBe('server');
    expect(s.hasMore).toBe(false);
    s.destroy();
  });

  it('falls back to the device when the server cannot be reached, and never asks it offline', async () => {
    const s = make();
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    s.setQuery('회의');
    await vi.advanceTimersByTimeAsync(500);
    expect(s.source).toBe('unreachable');
    expect(s.hits).toHaveLength(2);
    online = false;
    let asked = false;
    vi.stubGlobal('fetch', async () => ((asked = true), json({})));
    s.setQuery('회의 메모');
    await vi.advanceTimersByTimeAsync(500);
    expect(asked).toBe(false);
    expect(s.source).toBe('offline');
    expect(s.hits.map((h) => h.messageId)).toEqual(['mine0001']);
    s.destroy();
  });

  it('never sends more than 90 % of the published limit in a minute, however fast Enter is pressed', async () => {
    const s = make();
    s.query = '회의';
    for (let i = 0; i < 40; i++) {
      s.submit();
      await vi.advanceTimersByTimeAsync(200);
    }
    expect(calls.length).toBe(27);
    expect(s.source).toBe('rate-limited');
    s.destroy();
  });
});
