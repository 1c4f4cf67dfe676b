/**
 * Generated avatars (no uploads, no outside assets): the initials of a name on a colour derived
 * from the user id, so that a person keeps the same colour everywhere and on every device.
 */

/** Up to two letters: the first of two words ("Kim Minsu" → "KM"), else the first one ("민수" → "민"). */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]][0] ?? '?';
  if (words.length === 1) return /[A-Za-z]/.test(first) ? [...words[0]].slice(0, 2).join('').toUpperCase() : first;
  return (first + ([...words[words.length - 1]][0] ?? '')).toUpperCase();
}

/** A stable hue from the id (FNV-1a), at a saturation and lightness readable under white text. */
export function avatarColor(userId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `hsl(${(h >>> 0) % 360} 55% 42%)`;
}
