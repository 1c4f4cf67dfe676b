/** Uploads through the real `POST /api/upload` (multipart, as a browser sends it). */
import sharp from 'sharp';
import type { TestServer, TestUser } from './server.ts';

export interface UploadReply {
  status: number;
  body: any;
}

/** `fields` go first, in order (the server wants `room_id` before the file). */
export async function upload(server: TestServer, user: TestUser | null, fields: Record<string, string>, file: { name: string; data: Buffer | Uint8Array; type?: string } | null, headers: Record<string, string> = {}): Promise<UploadReply> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append('file', new Blob([new Uint8Array(file.data)], { type: file.type ?? 'application/octet-stream' }), file.name);
  const res = await fetch(`${server.url}/api/upload`, {
    method: 'POST',
    headers: { ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...headers },
    body: form,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

export const uploadTo = (server: TestServer, user: TestUser, roomId: string, name: string, data: Buffer | Uint8Array) => upload(server, user, { room_id: roomId }, { name, data });

export const png = (width = 80, height = 40, color = '#3366cc') => sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer();
export const jpeg = (width = 80, height = 40) => sharp({ create: { width, height, channels: 3, background: '#cc6633' } }).jpeg().toBuffer();

/** A small valid PDF (one empty page). */
export function pdf(text = 'hello'): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>`,
    `<< /Length ${text.length + 20} >>\nstream\nBT /F1 12 Tf (${text}) Tj ET\nendstream`,
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** The attachment a client writes into a message from an upload's answer. */
export function attachmentOf(reply: { file: any; token: string }) {
  const { thumb: _thumb, ...info } = reply.file;
  return { ...info, token: reply.token };
}
