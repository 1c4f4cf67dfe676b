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

/**
 * A stable hue from the id (FNV-1a), as dark as that hue needs for white initials to reach 4.5:1
 * (WCAG AA): yellows and greens are darkened more than blues at the same HSL lightness.
 */
export function avatarColor(userId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
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
