/**
 * Mentions (`@name`): who can be mentioned in a room, which mentions a text carries, and how a
 * rendered text splits into plain and highlighted parts. Names are matched by prefix of either the
 * username or the display name (Korean or Latin), case-insensitively; `@all` mentions everyone.
 */
import type { Member } from '$lib/protocol/schema';

export const ALL = 'all';

export interface MentionCandidate {
  /** A user id, or 'all'. */
  id: string;
  /** What is inserted after `@`. */
  label: string;
  /** The secondary line (the username). */
  hint: string;
  /** The member's profile photo version, when they have one. */
  avatarAt?: number;
}

const fold = (s: string) => s.normalize('NFC').toLocaleLowerCase();

/** Members (not me) whose username or display name starts with `query`, and `@all`. */
export function mentionCandidates(members: Record<string, Member>, meId: string, query: string, limit = 8): MentionCandidate[] {
  const q = fold(query);
  const out: MentionCandidate[] = [];
  if (ALL.startsWith(q)) out.push({ id: ALL, label: ALL, hint: '' });
  for (const [id, m] of Object.entries(members)) {
    if (id === meId) continue;
    const name = m.displayName || m.username;
    const words = fold(name).split(/\s+/);
    if (fold(m.username).startsWith(q) || fold(name).startsWith(q) || words.some((w) => w.startsWith(q))) out.push({ id, label: name, hint: m.username, ...(m.avatarAt ? { avatarAt: m.avatarAt } : {}) });
  }
  return out.slice(0, limit);
}

/** The `@query` being typed just before the caret, or null. */
export function activeMention(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at < 0 || (at > 0 && !/\s/.test(before[at - 1]))) return null;
  const query = before.slice(at + 1);
  // a display name may have one space in it ("Kim Minsu"); a newline or a second space ends it
  if (/\n/.test(query) || query.split(' ').length > 2 || query.length > 30) return null;
  return { start: at, query };
}

const boundary = (text: string, end: number) => end >= text.length || !/[\p{L}\p{N}_]/u.test(text[end]);

/** Every place `@label` occurs in text as a whole name. */
function occurrences(text: string, label: string): number[] {
  const found: number[] = [];
  const needle = '@' + label;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
    if ((i === 0 || /\s/.test(text[i - 1])) && boundary(text, i + needle.length)) found.push(i);
  }
  return found;
}

/** The mentions a text carries: members named with `@displayName` or `@username`, and `@all`. */
export function extractMentions(text: string, members: Record<string, Member>): string[] {
  const ids: string[] = [];
  if (occurrences(text, ALL).length) ids.push(ALL);
  for (const [id, m] of Object.entries(members)) {
    if ((m.displayName && occurrences(text, m.displayName).length) || occurrences(text, m.username).length) ids.push(id);
  }
  return ids.slice(0, 50);
}

export interface TextPart {
  text: string;
  /** The mentioned id, for a highlighted part. */
  mention?: string;
}

/** Splits text into parts, the `@names` of the message's mentions highlighted. */
export function mentionParts(text: string, mentions: string[] | undefined, members: Record<string, Member>): TextPart[] {
  if (!mentions?.length) return [{ text }];
  const spans: { start: number; end: number; id: string }[] = [];
  for (const id of mentions) {
    const m = members[id];
    const labels = id === ALL ? [ALL] : m ? [m.displayName, m.username].filter(Boolean) : [];
    for (const label of labels) for (const start of occurrences(text, label)) spans.push({ start, end: start + label.length + 1, id });
  }
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const parts: TextPart[] = [];
  let pos = 0;
  for (const s of spans) {
    if (s.start < pos) continue; // overlapping (a username inside a display name)
    if (s.start > pos) parts.push({ text: text.slice(pos, s.start) });
    parts.push({ text: text.slice(s.start, s.end), mention: s.id });
    pos = s.end;
  }
  if (pos < text.length) parts.push({ text: text.slice(pos) });
  return parts;
}

export const mentionsMe = (mentions: string[] | undefined, meId: string) => !!mentions && (mentions.includes(meId) || mentions.includes(ALL));
