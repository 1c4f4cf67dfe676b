/** How files look in the chat (src/lib/files/format.ts, gallery.ts): pure functions. */
import { describe, expect, it } from 'vitest';
import { fileKind, formatSize, gridRows, splitName, thumbBox } from '../../src/lib/files/format.ts';
import { chronological, prependPage } from '../../src/lib/files/gallery.ts';
import type { RoomFile } from '../../src/lib/files/api.ts';

describe('file display', () => {
  it('sizes files in the reader’s digits, 1024-based', () => {
    expect(formatSize(0, 'en')).toBe('0 B');
    expect(formatSize(1023, 'en')).toBe('1,023 B');
    expect(formatSize(1536, 'en')).toBe('1.5 KB');
    expect(formatSize(1024 * 1024 - 20, 'en')).toBe('1 MB');
    expect(formatSize(250 * 1024 * 1024, 'ko')).toBe('250 MB');
    expect(formatSize(3.25 * 1024 ** 3, 'de')).toBe('3,3 GB');
  });

  it('cuts a name for a middle ellipsis, keeping the extension and whole characters', () => {
    expect(splitName('2024년 3분기 실적 보고서_최종본.pdf')).toEqual({ head: '2024년 3분기 실적 보', tail: '고서_최종본.pdf' });
    expect(splitName('a.pdf')).toEqual({ head: 'a.pdf', tail: '' });
    expect(splitName('no-extension-but-long-name')).toEqual({ head: 'no-extension-but-lon', tail: 'g-name' });
    const emoji = splitName('🌊🌊🌊🌊🌊🌊🌊🌊🌊🌊.png');
    expect([...emoji.tail]).toHaveLength(10);
    expect(emoji.head + emoji.tail).toBe('🌊🌊🌊🌊🌊🌊🌊🌊🌊🌊.png');
  });

  it('tells kinds apart by extension, then type', () => {
    expect(fileKind('a.PDF', 'application/pdf')).toBe('pdf');
    expect(fileKind('표.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')).toBe('sheet');
    expect(fileKind('기안.hwp', 'application/x-hwp')).toBe('doc');
    expect(fileKind('x.png', 'image/png')).toBe('image');
    expect(fileKind('clip', 'video/mp4')).toBe('video');
    expect(fileKind('x.bin', 'application/octet-stream')).toBe('other');
  });

  it('gives a thumbnail the image’s aspect ratio within bounds', () => {
    expect(thumbBox(800, 400)).toEqual({ width: 280, height: 140 });
    expect(thumbBox(400, 800)).toEqual({ width: 160, height: 320 });
    expect(thumbBox(100, 50)).toEqual({ width: 100, height: 96 }); // never upscaled, a minimum height
    expect(thumbBox(4000, 100).width).toBe(280);
    expect(thumbBox(undefined, undefined)).toEqual({ width: 200, height: 200 });
  });

  it('lays out several images in rows of three, twos where one would be alone', () => {
    expect(gridRows(2)).toEqual([2]);
    expect(gridRows(3)).toEqual([3]);
    expect(gridRows(4)).toEqual([2, 2]);
    expect(gridRows(5)).toEqual([3, 2]);
    expect(gridRows(7)).toEqual([3, 2, 2]);
    expect(gridRows(10)).toEqual([3, 3, 2, 2]);
  });

  it('walks images oldest first, a message’s images in its own order', () => {
    const f = (id: string, messageId: string): RoomFile => ({ id, messageId, name: id, size: 1, type: 'image/png', thumb: true, uploader: 'u', segment: 0, createdAt: 0 });
    // newest first from the server; within message m2 the server's order is arbitrary
    const listed = [f('c', 'm2'), f('a', 'm2'), f('b', 'm2'), f('z', 'm1')];
    const order = (m: string) => (m === 'm2' ? ['a', 'b', 'c'] : undefined);
    expect(chronological(listed, order).map((x) => x.id)).toEqual(['z', 'a', 'b', 'c']);
    expect(chronological(listed, () => undefined).map((x) => x.id)).toEqual(['z', 'b', 'a', 'c']);
    expect(prependPage([f('z', 'm1')], [f('y', 'm3'), f('z', 'm1')]).map((x) => x.id)).toEqual(['y', 'z']);
  });
});
