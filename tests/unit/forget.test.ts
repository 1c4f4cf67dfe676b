/**
 * What the device forgets after the server's retention (src/lib/local/forget.ts): pure decisions
 * over what a synced head lists and what the device holds.
 */
import { describe, expect, it } from 'vitest';
import { droppedSegments, expiredIds, keptByRetention, oldestReceipt, remainingSegments, rescuable, toRepost } from '../../src/lib/local/forget.ts';
import type { Message, Receipt } from '../../src/lib/protocol/schema.ts';

const msg = (id: string, author: string, createdAt: number, extra: Partial<Message> = {}): Message => ({ id, author, text: `text ${id}`, createdAt, ...extra });

describe('forgetting what retention erased', () => {
  it('drops local copies of segments below every segment the head still lists', () => {
    const head = { segments: [2, 3, 4], horizon: 1000 };
    expect(droppedSegments([0, 1, 2, 4], head)).toEqual([0, 1]);
    expect(remainingSegments([0, 1, 2, 4], head)).toEqual([2, 4]);
    // a segment newer than what the head knew is not dropped, nor anything from an empty head
    expect(droppedSegments([5], head)).toEqual([]);
    expect(droppedSegments([0, 1], { segments: [], horizon: 0 })).toEqual([]);
  });

  it('finds the messages received before the horizon, and the oldest receipt of a copy', () => {
    const receipts = new Map<string, Receipt>([
      ['a', { seq: 1, at: 100 }],
      ['b', { seq: 2, at: 900 }],
      ['c', { seq: 3, at: 1500 }],
    ]);
    const messages: [string, Message][] = ['a', 'b', 'c', 'pending'].map((id) => [id, msg(id, 'u', 1)]);
    expect(expiredIds(messages, receipts, 1000)).toEqual(['a', 'b']);
    expect(expiredIds(messages, receipts, 0)).toEqual([]);
    expect(oldestReceipt(receipts)).toBe(100);
    expect(oldestReceipt(new Map())).toBeNull();
    expect(keptByRetention(999, 1000)).toBe(false);
    expect(keptByRetention(1000, 1000)).toBe(true);
    expect(keptByRetention(null, 1000)).toBe(true); // pending: never erased
    expect(keptByRetention(5, 0)).toBe(true);
  });

  it('rescues only my own unacknowledged live messages, in writing order', () => {
    const messages = [
      msg('late', 'me', 30),
      msg('early', 'me', 10),
      msg('acked', 'me', 5),
      msg('theirs', 'other', 1),
      msg('gone', 'me', 2, { deleted: true, text: '' }),
      msg('line', 'me', 3, { system: { type: 'poll', pollId: 'p' } }),
    ];
    expect(rescuable(messages, new Set(['acked']), 'me').map((m) => m.id)).toEqual(['early', 'late']);
  });

  it('posts a rescued message once, and not when it is already posted elsewhere', () => {
    const a = msg('a', 'me', 1);
    const b = msg('b', 'me', 2);
    expect(toRepost([a, b, a], (id) => id === 'b').map((m) => m.id)).toEqual(['a']);
  });
});
