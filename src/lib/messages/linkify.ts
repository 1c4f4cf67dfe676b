/**
 * Links in message text, made safely: only `http:`, `https:` and `mailto:` ever become a link
 * (never `javascript:`, `data:`, `vbscript:`, `file:`…), every href is rebuilt by the URL parser,
 * and the text around them stays plain text (the component renders parts, never HTML).
 *
 * What is recognised:
 * - `http://` / `https://` URLs, intranet hosts included (`http://wiki.corp/`, `http://10.0.0.5:8080`,
 *   `http://intranet`);
 * - `www.` hosts without a scheme (as `https://`);
 * - `mailto:` links and bare addresses (`kim@corp.example`).
 *
 * A URL is ASCII: it stops at the first space or non-ASCII character, so a Korean particle written
 * right after it ("https://wiki.corp/a에서") stays outside. Percent-encoded paths are kept whole.
 * Trailing punctuation that usually ends a sentence (`.,!?;:` and quotes) is left out, and a closing
 * bracket only belongs to the URL when the URL opened it ("(see https://x.corp/a_(b))").
 */

export type TextPart = { text: string; href?: undefined } | { text: string; href: string; display: string };

/** A scheme URL, a `www.` host, or a bare e-mail address. */
const CANDIDATE = /(?:\b(?:https?:\/\/|mailto:)|\bwww\.)[!#-;=?-~]+|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/gi;
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;
const TRAILING = /[.,!?;:'"*_~]$/;
const PAIRS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
/** Longer URLs are not links (nobody types them; they are a way to stall the parser or the layout). */
export const MAX_URL = 2048;

/** Cuts sentence punctuation and unbalanced closing brackets off the end of a candidate (linear). */
function trimEnd(raw: string): string {
  const opens: Record<string, number> = { '(': 0, '[': 0, '{': 0 };
  const closes: Record<string, number> = { ')': 0, ']': 0, '}': 0 };
  for (const ch of raw) {
    if (ch in opens) opens[ch]++;
    else if (ch in closes) closes[ch]++;
  }
  let end = raw.length;
  while (end > 0) {
    const last = raw[end - 1];
    if (TRAILING.test(last)) {
      end--;
      continue;
    }
    const open = PAIRS[last];
    if (open && opens[open] < closes[last]) {
      closes[last]--;
      end--;
      continue;
    }
    break;
  }
  return raw.slice(0, end);
}

/** The safe href for a candidate, or null when it must stay plain text. */
export function safeHref(candidate: string): string | null {
  if (candidate.length > MAX_URL) return null;
  let raw = candidate;
  if (EMAIL.test(raw)) raw = 'mailto:' + raw;
  else if (/^www\./i.test(raw)) raw = 'https://' + raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol === 'mailto:') return EMAIL.test(decodeSafe(url.pathname)) ? url.href : null;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (!url.hostname || url.username || url.password) return null; // `http://evil@bank` reads as bank
  return url.href;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Shown in place of a long URL: no scheme, at most `max` characters, cut in the middle. */
export function displayUrl(href: string, max = 40): string {
  let s = href.replace(/^mailto:/i, '').replace(/^https?:\/\//i, '');
  if (/^[^/]+\/$/.test(s)) s = s.slice(0, -1); // "wiki.corp/" → "wiki.corp"
  s = decodeDisplay(s);
  const chars = [...s];
  if (chars.length <= max) return s;
  const tail = Math.max(8, Math.floor(max / 4));
  return chars.slice(0, max - tail - 1).join('') + '…' + chars.slice(-tail).join('');
}

/** Percent-encoded Hangul shown as Hangul (display only; the href keeps the encoding). */
function decodeDisplay(s: string): string {
  const d = decodeSafe(s);
  // never decode into something that looks like a different host or hides characters
  return /[\s\u0000-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/.test(d) ? s : d;
}

/** Splits plain text into text and link parts (joined, the parts' `text` is the input). */
export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const m of text.matchAll(CANDIDATE)) {
    const start = m.index;
    if (m[0].length > MAX_URL) continue;
    const candidate = trimEnd(m[0]);
    if (!candidate) continue;
    const href = safeHref(candidate);
    if (!href) continue;
    if (start > at) parts.push({ text: text.slice(at, start) });
    parts.push({ text: candidate, href, display: displayUrl(href) });
    at = start + candidate.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}
