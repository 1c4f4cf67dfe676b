/**
 * How a file looks in the chat, as pure functions: its kind (which icon), its size in words, its
 * name split for a middle ellipsis, and the box an image thumbnail gets before it has loaded.
 */

/** The raster types the server makes thumbnails of and serves inline (server/files/types.ts). */
const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export const isInlineImage = (type: string) => INLINE_IMAGES.has(type.split(';')[0].trim().toLowerCase());

export type FileKind = 'image' | 'pdf' | 'sheet' | 'doc' | 'slides' | 'archive' | 'video' | 'text' | 'other';

const BY_EXTENSION: Record<string, FileKind> = {
  pdf: 'pdf',
  xlsx: 'sheet', xls: 'sheet', ods: 'sheet', csv: 'sheet',
  docx: 'doc', doc: 'doc', odt: 'doc', hwp: 'doc', hwpx: 'doc',
  pptx: 'slides', ppt: 'slides', odp: 'slides',
  zip: 'archive', '7z': 'archive', gz: 'archive',
  mp4: 'video', mov: 'video',
  txt: 'text', md: 'text', log: 'text',
};

/** The extension of a name, lower-case, or '' (`.env` and `archive.` have none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return '';
  return name.slice(dot + 1).toLowerCase();
}

/** The extension decides (the server sets the type from it); the MIME type fills the gaps. */
export function fileKind(name: string, type: string): FileKind {
  if (isInlineImage(type)) return 'image';
  const byExt = BY_EXTENSION[extensionOf(name)];
  if (byExt) return byExt;
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('text/')) return 'text';
  if (type === 'application/pdf') return 'pdf';
  return 'other';
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1024-based, one decimal from KB up (none for whole numbers), digits in the reader's locale. */
export function formatSize(bytes: number, locale: string): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // 1023.96 KB would print as "1,024 KB": say 1 MB instead
  if (unit > 0 && unit < UNITS.length - 1 && Math.round(value * 10) / 10 >= 1024) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value)} ${UNITS[unit]}`;
}

/**
 * A name cut in two for a middle ellipsis: the head shrinks with "…" at its end, the tail (the last
 * few characters and the extension) always shows, so `보고서_최종_수정본(3).pdf` stays recognisable.
 * Code points, not UTF-16 units: a cut never splits a character.
 */
export function splitName(name: string, keep = 6): { head: string; tail: string } {
  const chars = [...name];
  const ext = extensionOf(name);
  const tailLength = Math.min(chars.length, keep + (ext ? ext.length + 1 : 0));
  if (chars.length <= tailLength + 2) return { head: name, tail: '' };
  return { head: chars.slice(0, chars.length - tailLength).join(''), tail: chars.slice(chars.length - tailLength).join('') };
}

export interface Box {
  width: number;
  height: number;
}

/**
 * The box of a single image in a message, known before it loads (no jump when it does): the image's
 * own aspect ratio, at most `max` wide and high, never wider than the image itself, and at least
 * `min` on each side (an extreme panorama or strip is then cropped, `object-fit: cover`).
 * Unknown dimensions give a square.
 */
export function thumbBox(width: number | undefined, height: number | undefined, max: Box = { width: 280, height: 320 }, min = 96): Box {
  if (!width || !height) return { width: Math.min(200, max.width), height: Math.min(200, max.height) };
  const scale = Math.min(1, max.width / width, max.height / height);
  const w = Math.max(min, Math.round(width * scale));
  const h = Math.max(min, Math.round(height * scale));
  return { width: Math.min(w, max.width), height: Math.min(h, max.height) };
}

/**
 * Rows of a several-image grid: threes, with twos where a three would leave one alone
 * (4 → 2+2, 5 → 3+2, 7 → 3+2+2, 10 → 3+3+2+2).
 */
export function gridRows(n: number): number[] {
  const rows: number[] = [];
  let left = n;
  while (left > 0) {
    const take = left === 1 ? 1 : left === 2 || left === 4 ? 2 : 3;
    rows.push(take);
    left -= take;
  }
  return rows;
}
