/**
 * The file types an upload may have: extension → MIME type and the content check (magic bytes) the
 * first bytes of the file must pass. The type a file is stored and served with comes from this
 * table, never from what the client claimed. `UPLOAD_TYPES` (or the admin setting) picks a subset.
 *
 * Nothing here is ever served inline except the raster images (see files/http.ts): SVG and HTML are
 * not on the list at all, and text is served as an attachment with `nosniff`.
 */
export type FileKind = 'image' | 'document' | 'archive' | 'video' | 'text';

interface FileType {
  mime: string;
  kind: FileKind;
  /** True when `head` (the file's first bytes, up to SNIFF_BYTES) is this type's content. */
  check(head: Buffer): boolean;
}

export const SNIFF_BYTES = 4100;

const startsWith = (...sig: number[]) => (head: Buffer) => head.length >= sig.length && sig.every((b, i) => head[i] === b);
const ascii = (at: number, text: string) => (head: Buffer) => head.length >= at + text.length && head.toString('latin1', at, at + text.length) === text;

const png = startsWith(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const jpeg = startsWith(0xff, 0xd8, 0xff);
const gif = (h: Buffer) => ascii(0, 'GIF87a')(h) || ascii(0, 'GIF89a')(h);
const webp = (h: Buffer) => ascii(0, 'RIFF')(h) && ascii(8, 'WEBP')(h);
const pdf = ascii(0, '%PDF-');
// Office Open XML, OpenDocument, HWPX and plain zip are all zip archives (an empty one starts PK\5\6)
const zip = (h: Buffer) => startsWith(0x50, 0x4b, 0x03, 0x04)(h) || startsWith(0x50, 0x4b, 0x05, 0x06)(h);
// legacy Office and HWP 5 are OLE compound files
const ole = startsWith(0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1);
const sevenZip = startsWith(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c);
const gzip = startsWith(0x1f, 0x8b);
const isoMedia = ascii(4, 'ftyp');

/**
 * Text: valid UTF-8 (a sequence cut at the end of the sniffed bytes is fine) or UTF-16 with a BOM,
 * and no NUL bytes or other binary control characters. An empty file is text.
 */
export function looksLikeText(head: Buffer): boolean {
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) return true;
  for (let i = 0; i < head.length; i++) {
    const b = head[i];
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b)) return false;
  }
  // trim a multi-byte sequence cut by the sniff window, then require valid UTF-8
  let end = head.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const b = head[end - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte
    if ((b & 0xc0) === 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (back < need) end -= back;
    }
    break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

export const FILE_TYPES: Record<string, FileType> = {
  png: { mime: 'image/png', kind: 'image', check: png },
  jpg: { mime: 'image/jpeg', kind: 'image', check: jpeg },
  jpeg: { mime: 'image/jpeg', kind: 'image', check: jpeg },
  gif: { mime: 'image/gif', kind: 'image', check: gif },
  webp: { mime: 'image/webp', kind: 'image', check: webp },
  pdf: { mime: 'application/pdf', kind: 'document', check: pdf },
  txt: { mime: 'text/plain', kind: 'text', check: looksLikeText },
  csv: { mime: 'text/csv', kind: 'text', check: looksLikeText },
  md: { mime: 'text/markdown', kind: 'text', check: looksLikeText },
  log: { mime: 'text/plain', kind: 'text', check: looksLikeText },
  docx: { mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', kind: 'document', check: zip },
  xlsx: { mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', kind: 'document', check: zip },
  pptx: { mime: 'application/vnd.openxmlformats-officedocument.presentationml.presentation', kind: 'document', check: zip },
  doc: { mime: 'application/msword', kind: 'document', check: ole },
  xls: { mime: 'application/vnd.ms-excel', kind: 'document', check: ole },
  ppt: { mime: 'application/vnd.ms-powerpoint', kind: 'document', check: ole },
  hwp: { mime: 'application/x-hwp', kind: 'document', check: ole },
  hwpx: { mime: 'application/hwp+zip', kind: 'document', check: zip },
  odt: { mime: 'application/vnd.oasis.opendocument.text', kind: 'document', check: zip },
  ods: { mime: 'application/vnd.oasis.opendocument.spreadsheet', kind: 'document', check: zip },
  odp: { mime: 'application/vnd.oasis.opendocument.presentation', kind: 'document', check: zip },
  zip: { mime: 'application/zip', kind: 'archive', check: zip },
  '7z': { mime: 'application/x-7z-compressed', kind: 'archive', check: sevenZip },
  gz: { mime: 'application/gzip', kind: 'archive', check: gzip },
  mp4: { mime: 'video/mp4', kind: 'video', check: isoMedia },
  mov: { mime: 'video/quicktime', kind: 'video', check: isoMedia },
};

export const DEFAULT_UPLOAD_TYPES = Object.keys(FILE_TYPES);

/** Raster images the server makes thumbnails of and serves inline. */
export const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** The extension of a file name, lower-case, or '' (a name like `.env` or `archive.` has none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return '';
  return name.slice(dot + 1).toLowerCase();
}

/** The kinds a room's file list filters by: images, and everything else as documents. */
export const isImageType = (mime: string) => INLINE_IMAGE_TYPES.has(mime);
