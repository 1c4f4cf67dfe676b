/**
 * Generated avatars (no uploads, no outside assets): the initials of a name on a colour derived
 * from an id, so that a person or a room keeps the same colour everywhere and on every device.
 * Rooms use `roomAvatar` in the list and the header alike, so both show the same thing.
 */

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

/** A stable hue from the id (FNV-1a), at a saturation and lightness readable under white text. */
export function avatarColor(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `hsl(${(h >>> 0) % 360} 55% 42%)`;
}

export interface RoomAvatar {
  /** The colour's key: the other person for a 1:1 (their colour everywhere), else the room. */
  id: string;
  /** Groups are rounded squares, people circles. */
  shape: 'circle' | 'square';
  /** For a 1:1: whose presence dot to show. */
  peerId: string | null;
}

/** What a room's avatar shows, the same in the room list and the room header. */
export function roomAvatar(room: { id: string; kind: 'direct' | 'group' | undefined; peerId: string | null }): RoomAvatar {
  if (room.kind === 'direct' && room.peerId) return { id: room.peerId, shape: 'circle', peerId: room.peerId };
  return { id: room.id, shape: room.kind === 'group' ? 'square' : 'circle', peerId: null };
}
