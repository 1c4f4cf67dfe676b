/**
 * The one tokenizer of message search, shared by the server's index (SQLite FTS5) and the app's
 * offline search over its local copy, so that both find the same messages for the same query.
 *
 * Korean does not separate words the way English does: particles attach to nouns (회의록을) and
 * compounds run together (주간회의록). So text in Hangul (and CJK ideographs and kana) is indexed
 * as overlapping two-character grams: 회의록을 → 회의 의록 록을. A query word of two or more such
 * characters matches when all its grams appear in order (a phrase of grams), so 회의 and 회의록
 * both find 회의록을. A one-character query matches as a word prefix. Everything else (Latin,
 * digits, other scripts) is split into words, lower-cased, and matched by prefix, so `QA` finds
 * `qa` and `deploy` finds `deployment`. Text is NFC on both sides, so NFD input (macOS) finds NFC
 * text. Query words are ANDed.
 */

import type { Message } from '../protocol/schema.ts';

/**
 * What a message contributes to search: its text and its files' names; nothing for tombstones and
 * system lines. The server indexes exactly this, and the offline search matches exactly this.
 */
export function searchableText(m: Message): string | null {
  if (m.deleted || m.system) return null;
  const names = (m.attachments ?? []).map((a) => a.name).join(' ');
  const text = [m.text, names].filter(Boolean).join('\n');
  return text.trim() ? text : null;
}

/** Hangul syllables and jamo, CJK ideographs, kana: scripts indexed by grams. */
const GRAM_CHAR = /[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff]/u;
/** A run of word characters (letters, digits, marks) of any script. */
const RUN = /[\p{L}\p{N}\p{M}]+/gu;

export interface Term {
  /** The normalised word as typed (lower-case, NFC). */
  word: string;
  /** For gram scripts of 2+ characters: its grams, matched as a phrase. */
  grams: string[] | null;
}

export function normalize(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** Splits a run into alternating pieces of gram script and other script (e.g. `v2배포` → v2, 배포). */
function pieces(run: string): { text: string; gram: boolean }[] {
  const out: { text: string; gram: boolean }[] = [];
  for (const ch of run) {
    const gram = GRAM_CHAR.test(ch);
    const last = out[out.length - 1];
    if (last && last.gram === gram) last.text += ch;
    else out.push({ text: ch, gram });
  }
  return out;
}

function gramsOf(text: string): string[] {
  const chars = [...text];
  if (chars.length < 2) return [];
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i] + chars[i + 1]);
  return out;
}

/** What the index stores for a message: its words and its grams, each a space-separated list. */
export function indexTerms(text: string): { words: string; grams: string } {
  const words: string[] = [];
  const grams: string[] = [];
  for (const run of normalize(text).match(RUN) ?? []) {
    for (const p of pieces(run)) {
      words.push(p.text);
      if (p.gram) grams.push(...gramsOf(p.text));
    }
    // a mixed run (v2배포) is also one word, so that typing it whole finds it
    if (pieces(run).length > 1) words.push(run);
  }
  return { words: words.join(' '), grams: grams.join(' ') };
}

/** The query's terms (at most 10; each at most 40 characters). */
export function queryTerms(query: string): Term[] {
  const terms: Term[] = [];
  for (const run of normalize(query).match(RUN) ?? []) {
    for (const p of pieces(run)) {
      const word = [...p.text].slice(0, 40).join('');
      const grams = p.gram ? gramsOf(word) : [];
      terms.push({ word, grams: grams.length ? grams : null });
    }
  }
  return terms.slice(0, 10);
}

/** FTS5 MATCH expression for the terms (null when there is nothing to search for). */
export function ftsQuery(terms: Term[]): string | null {
  if (!terms.length) return null;
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return terms
    .map((t) => (t.grams ? `grams : ${t.grams.length === 1 ? quote(t.grams[0]) : `(${t.grams.map(quote).join(' + ')})`}` : `words : ${quote(t.word)} *`))
    .join(' AND ');
}

/**
 * Whether a text matches the terms, by the same rules as the index (the offline search, and the
 * server's check of a candidate): every gram term is a substring, every other term a word prefix.
 */
export function matches(text: string, terms: Term[]): boolean {
  if (!terms.length) return false;
  const norm = normalize(text);
  const words = indexTerms(text).words.split(' ');
  return terms.every((t) => (t.grams ? norm.includes(t.word) : words.some((w) => w.startsWith(t.word))));
}

/**
 * Where the terms occur in the text, as [start, end) ranges in UTF-16 units of the original text
 * (NFC), merged and sorted: for highlighting.
 */
export function highlightRanges(text: string, terms: Term[]): [number, number][] {
  const norm = normalize(text.normalize('NFC'));
  // lower-casing can change lengths (rare: İ); only trust ranges when it did not
  if (norm.length !== text.normalize('NFC').length) return [];
  const ranges: [number, number][] = [];
  for (const t of terms) {
    if (!t.word) continue;
    let from = 0;
    for (;;) {
      const at = norm.indexOf(t.word, from);
      if (at < 0) break;
      // a Latin term matches at the start of a word only
      const startOfWord = at === 0 || !/[\p{L}\p{N}\p{M}]/u.test(norm[at - 1]) || t.grams !== null || GRAM_CHAR.test(norm[at - 1]);
      if (startOfWord) ranges.push([at, at + t.word.length]);
      from = at + Math.max(1, t.word.length);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** A window of the text around the first match (at most `max` characters), with its ranges shifted. */
export function snippet(text: string, terms: Term[], max = 160): { text: string; highlights: [number, number][] } {
  const full = text.normalize('NFC');
  const ranges = highlightRanges(full, terms);
  if (full.length <= max) return { text: full, highlights: ranges };
  const first = ranges[0]?.[0] ?? 0;
  let start = Math.max(0, first - Math.floor(max / 3));
  const end = Math.min(full.length, start + max);
  start = Math.max(0, end - max);
  const prefix = start > 0 ? '…' : '';
  const suffix = end < full.length ? '…' : '';
  const shift = prefix.length - start;
  return {
    text: prefix + full.slice(start, end) + suffix,
    highlights: ranges.filter(([a, b]) => a >= start && b <= end).map(([a, b]) => [a + shift, b + shift]),
  };
}
