/** Times, dates and avatar initials as the timeline and room list show them (pure functions). */
import { describe, expect, it } from 'vitest';
import { formatDay, formatTime, listTime } from '../../src/lib/i18n/format.ts';
import { avatarUrl, initials, roomAvatar } from '../../src/lib/people/avatar.ts';

const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(y, mo - 1, d, h, mi, s).getTime();

describe('message times', () => {
  it('are "오후 6:24" / "6:24 PM", without a leading zero, 12 for noon and midnight', () => {
    expect(formatTime(at(2026, 12, 2, 18, 24), 'ko')).toBe('오후 6:24');
    expect(formatTime(at(2026, 12, 2, 18, 24), 'en')).toBe('6:24 PM');
    expect(formatTime(at(2026, 12, 2, 9, 5), 'ko')).toBe('오전 9:05');
    expect(formatTime(at(2026, 12, 2, 0, 5), 'ko')).toBe('오전 12:05');
    expect(formatTime(at(2026, 12, 2, 0, 5), 'en')).toBe('12:05 AM');
    expect(formatTime(at(2026, 12, 2, 12, 0), 'ko')).toBe('오후 12:00');
    expect(formatTime(at(2026, 12, 2, 12, 0), 'en')).toBe('12:00 PM');
  });

  it('date separators read as KakaoTalk writes them', () => {
    expect(formatDay(at(2026, 12, 2, 18), 'ko')).toBe('2026년 12월 2일 수요일');
    expect(formatDay(at(2026, 12, 2, 18), 'en')).toBe('Wednesday, December 2, 2026');
    expect(formatDay(at(2027, 1, 3), 'ko')).toBe('2027년 1월 3일 일요일');
  });
});

describe('room list times', () => {
  const now = at(2026, 12, 2, 18, 30);
  it('are relative within the hour, the time today, 어제, the day this year, the date before', () => {
    expect(listTime(now - 20_000, now, 'ko')).toBe('방금');
    expect(listTime(now + 5_000, now, 'ko')).toBe('방금'); // another clock slightly ahead
    expect(listTime(now - 5 * 60_000, now, 'ko')).toBe('5분 전');
    expect(listTime(now - 5 * 60_000, now, 'en')).toBe('5 min');
    expect(listTime(at(2026, 12, 2, 9, 7), now, 'ko')).toBe('오전 9:07');
    expect(listTime(at(2026, 12, 1, 23, 50), now, 'ko')).toBe('어제');
    expect(listTime(at(2026, 12, 1, 23, 50), now, 'en')).toBe('Yesterday');
    expect(listTime(at(2026, 3, 14, 10), now, 'ko')).toBe('3월 14일');
    expect(listTime(at(2026, 3, 14, 10), now, 'en')).toBe('Mar 14');
    expect(listTime(at(2025, 12, 2, 10), now, 'ko')).toBe('2025. 12. 2.');
    expect(listTime(at(2025, 12, 2, 10), now, 'en')).toBe('12/2/2025');
    expect(listTime(0, now, 'ko')).toBe('');
  });

  it('says 어제 across a month boundary', () => {
    expect(listTime(at(2026, 11, 30, 22), at(2026, 12, 1, 8), 'ko')).toBe('어제');
  });
});

describe('avatar initials', () => {
  it('take the family name of a Korean name', () => {
    expect(initials('최수아')).toBe('최');
    expect(initials('김 민수')).toBe('김');
    expect(initials('남궁민')).toBe('남');
  });

  it('ignore parenthetical and bracketed suffixes and prefixes', () => {
    expect(initials('최수아 (… 재택근무 중)')).toBe('최');
    expect(initials('최수아 (재택근무 중')).toBe('최'); // never closed
    expect(initials('[TF] 김민수')).toBe('김');
    expect(initials('Alice Kim (remote)')).toBe('AK');
  });

  it('take one or two letters of a Latin name, skipping emoji and punctuation', () => {
    expect(initials('Kim Minsu')).toBe('KM');
    expect(initials('alice')).toBe('AL');
    expect(initials('Mary Ann Lee')).toBe('ML');
    expect(initials('🐱 Nabi')).toBe('NA');
    expect(initials('Kim 민수')).toBe('K');
    expect([...initials('Ünal Öz')]).toHaveLength(2);
  });

  it('never come out empty', () => {
    expect(initials('')).toBe('?');
    expect(initials('   ')).toBe('?');
    expect(initials('🎉')).toBe('🎉');
    expect(initials('(재택)')).toBe('재');
  });

  it('a room shows the same avatar in the list and the header', () => {
    expect(roomAvatar({ id: 'room1', kind: 'direct', peerId: 'u2' })).toEqual({ id: 'u2', shape: 'circle', peerId: 'u2' });
    expect(roomAvatar({ id: 'room1', kind: 'group', peerId: null })).toEqual({ id: 'room1', shape: 'square', peerId: null });
  });

  it("a 1:1 room shows the other person's photo, a group none", () => {
    expect(roomAvatar({ id: 'room1', kind: 'direct', peerId: 'u2', peerAvatarAt: 1700 })).toEqual({ id: 'u2', shape: 'circle', peerId: 'u2', avatarAt: 1700 });
    expect(roomAvatar({ id: 'room1', kind: 'group', peerId: null, peerAvatarAt: 1700 })).toEqual({ id: 'room1', shape: 'square', peerId: null });
  });

  it('a photo URL is versioned, and there is none without a version', () => {
    expect(avatarUrl('u2', 1700)).toBe('/api/users/u2/avatar?v=1700');
    expect(avatarUrl('a/b', 5)).toBe('/api/users/a%2Fb/avatar?v=5');
    expect(avatarUrl('u2', undefined)).toBeNull();
    expect(avatarUrl('u2', 0)).toBeNull();
  });
});
