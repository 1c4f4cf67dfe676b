/** The shared search tokenizer (server index and offline search use the same rules). */
import { describe, expect, it } from 'vitest';
import { ftsQuery, highlightRanges, indexTerms, matches, queryTerms, snippet } from '../../src/lib/search/tokenize.ts';

describe('indexTerms', () => {
  it('indexes Hangul as words and overlapping grams, Latin as lower-case words', () => {
    expect(indexTerms('내일 회의록을 공유합니다')).toEqual({
      words: '내일 회의록을 공유합니다',
      grams: '내일 회의 의록 록을 공유 유합 합니 니다',
    });
    expect(indexTerms('QA Deploy v2.3')).toEqual({ words: 'qa deploy v2 3', grams: '' });
  });

  it('splits a mixed run into its scripts and keeps the run whole as a word too', () => {
    expect(indexTerms('v2배포')).toEqual({ words: 'v2 배포 v2배포', grams: '배포' });
  });

  it('normalises to NFC, so NFD text indexes the same', () => {
    expect(indexTerms('회의록'.normalize('NFD'))).toEqual(indexTerms('회의록'));
  });
});

describe('queries', () => {
  it('turns Hangul words into gram phrases and Latin words into prefixes, ANDed', () => {
    expect(ftsQuery(queryTerms('회의록 QA'))).toBe('grams : ("회의" + "의록") AND words : "qa" *');
    expect(ftsQuery(queryTerms('회의'))).toBe('grams : "회의"');
    // one syllable: a word prefix
    expect(ftsQuery(queryTerms('팀'))).toBe('words : "팀" *');
    expect(ftsQuery(queryTerms('!!!'))).toBeNull();
  });

  it('quotes what it passes to FTS5 (no query syntax from the user)', () => {
    const q = ftsQuery(queryTerms('a"b OR c* NEAR(d)'))!;
    expect(q).toBe('words : "a" * AND words : "b" * AND words : "or" * AND words : "c" * AND words : "near" * AND words : "d" *');
  });

  it('caps terms at 10 and words at 40 characters', () => {
    expect(queryTerms(Array.from({ length: 20 }, (_, i) => `w${i}`).join(' '))).toHaveLength(10);
    expect(queryTerms('가'.repeat(100))[0].word).toHaveLength(40);
  });
});

describe('matches (offline search) agrees with the index rules', () => {
  const text = '내일 회의록을 공유합니다. QA deployment done';
  it.each([
    ['회의', true], ['회의록', true], ['의록을', true], ['공유', true], ['qa', true], ['DEPLOY', true],
    ['QA 회의', true], ['회장', false], ['ployment', false], ['QA 예산', false], ['회의'.normalize('NFD'), true],
  ])('%s → %s', (q, want) => {
    expect(matches(text, queryTerms(q))).toBe(want);
  });
});

describe('highlights and snippets', () => {
  it('marks every match, Latin only at word starts, merged', () => {
    const text = '회의 후 회의록을 QA에 공유, aqa 아님';
    expect(highlightRanges(text, queryTerms('회의 qa'))).toEqual([[0, 2], [5, 7], [10, 12]]);
  });

  it('cuts a long text around the first match and shifts the ranges', () => {
    const text = `${'가나다 '.repeat(100)}핵심 ${'라마바 '.repeat(100)}`;
    const s = snippet(text, queryTerms('핵심'), 60);
    expect(s.text.length).toBeLessThanOrEqual(62);
    expect(s.text.startsWith('…')).toBe(true);
    expect(s.text.slice(s.highlights[0][0], s.highlights[0][1])).toBe('핵심');
  });
});
