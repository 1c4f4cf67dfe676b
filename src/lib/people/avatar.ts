/**
 * Avatars: a person's profile photo when they have one (`avatarUrl`), over the initials of their name
 * on a colour derived from their id, so that a person or a room keeps the same colour everywhere and
 * on every device, and the initials show while the photo loads, when it fails, and offline without a
 * kept copy. Rooms use `roomAvatar` in the list and the header alike, so both show the same thing (a
 * 1:1 room: the other person's photo).
 */

/** The photo's URL, versioned by `avatarAt` (a new photo is a new URL: cached for good), or null without one. */
export function avatarUrl(userId: string, avatarAt: number | null | undefined): string | null {
  return avatarAt ? `/api/users/${encodeURIComponent(userId)}/avatar?v=${avatarAt}` : null;
}

/** Parenthetical and bracketed parts ("최수아 (재택근무 중)", "[TF] 김민수") are not the name. */
const BRACKETED = /[([（【<〈「『][^)\]）】>〉」』]*(?:[)\]）】>〉」』]|$)/g;
const HANGUL = /^[\u3131-\u318e\uac00-\ud7a3]/;
const LETTER = /\p{L}/u;

/**
 * One or two characters for the avatar circle: a Korean name gives its family name (the first
 * syllable: "최수아" → "최"); a Latin name the first letters of its first and last words
 * ("Kim Minsu" → "KM") or the first two of a single word ("alice" → "AL"). Parenthetical suffixes,
 * emoji and punctuation are skipped.
 */
export function initials(name: string): string {
  const cleaned = name.replace(BRACKETED, ' ').trim();
  const words = (cleaned || name).split(/\s+/).map((w) => [...w].filter((c) => LETTER.test(c)).join('')).filter(Boolean);
  if (words.length === 0) return [...name.trim()][0] ?? '?';
  const first = words[0];
  if (HANGUL.test(first)) return [...first][0];
  if (words.length === 1) return /^[A-Za-z]/.test(first) ? [...first].slice(0, 2).join('').toUpperCase() : [...first][0].toUpperCase();
  const last = words[words.length - 1];
  return ([...first][0] + (HANGUL.test(last) ? '' : [...last][0])).toUpperCase();
}

/**
 * A stable hue from the id (FNV-1a), as dark as that hue needs for white initials to reach 4.5:1
 * (WCAG AA): yellows and greens are darkened more than blues at the same HSL lightness.
 */
export function avatarColor(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  const hue = (h >>> 0) % 360;
  let lightness = 42;
  while (lightness > 20 && 1.05 / (luminance(hue, 0.55, lightness / 100) + 0.05) < 4.6) lightness -= 1;
  return `hsl(${hue} 55% ${lightness}%)`;
}

/** WCAG relative luminance of an HSL colour (s, l in 0..1). */
function luminance(hue: number, s: number, l: number): number {
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(8) + 0.0722 * channel(4);
}

export interface RoomAvatar {
  /** The colour's key: the other person for a 1:1 (their colour everywhere), else the room. */
  id: string;
  /** Groups are rounded squares, people circles. */
  shape: 'circle' | 'square';
  /** For a 1:1: whose presence dot to show. */
  peerId: string | null;
  /** For a 1:1: the other person's photo version, when they have one. */
  avatarAt?: number;
}

/** What a room's avatar shows, the same in the room list and the room header. */
export function roomAvatar(room: { id: string; kind: 'direct' | 'group' | undefined; peerId: string | null; peerAvatarAt?: number }): RoomAvatar {
  if (room.kind === 'direct' && room.peerId) return { id: room.peerId, shape: 'circle', peerId: room.peerId, ...(room.peerAvatarAt ? { avatarAt: room.peerAvatarAt } : {}) };
  return { id: room.id, shape: room.kind === 'group' ? 'square' : 'circle', peerId: null };
}
