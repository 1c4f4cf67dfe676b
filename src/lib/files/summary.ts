/**
 * A message in one line, for the places that quote it (reply quotes, the room list, notifications):
 * its text, or for a message of files only what it carries ("Photo", "3 photos", the file's name);
 * and a file's kind in words.
 */
import { t } from '$lib/i18n/index.ts';
import type { Attachment, Message } from '$lib/protocol/schema';
import { isInlineImage, type FileKind } from './format.ts';

export function attachmentSummary(attachments: readonly Attachment[]): string {
  if (attachments.length === 0) return '';
  const images = attachments.filter((a) => isInlineImage(a.type)).length;
  if (images === attachments.length) return images === 1 ? t.files.photo : t.files.photos(images);
  if (attachments.length === 1) return attachments[0].name;
  return t.files.fileCount(attachments.length);
}

export function messageExcerpt(m: Pick<Message, 'text' | 'attachments'>): string {
  return m.text.trim() ? m.text : attachmentSummary(m.attachments ?? []);
}

/** The kind in words, for a file card ("PDF", "Spreadsheet", "스프레드시트"). */
export function kindLabel(kind: FileKind): string {
  const labels: Record<FileKind, string> = {
    image: t.files.kindImage,
    pdf: t.files.kindPdf,
    sheet: t.files.kindSheet,
    doc: t.files.kindDoc,
    slides: t.files.kindSlides,
    archive: t.files.kindArchive,
    video: t.files.kindVideo,
    text: t.files.kindText,
    other: t.files.kindOther,
  };
  return labels[kind];
}
