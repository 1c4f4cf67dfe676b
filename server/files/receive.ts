/**
 * Streams one multipart upload to a temp file: `room_id` (a text field) must come before the `file`
 * part, so that a non-member or a missing room is refused before a byte of the file is written. The
 * first bytes are checked against the extension's signature as they arrive, and the size limit
 * stops the upload the moment it is crossed. Nothing is held in memory beyond the sniffed head.
 *
 * On any refusal the temp file is removed and the request is left unread (the HTTP layer answers
 * and closes the connection: it does not read the rest of a refused upload).
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Busboy } from '@fastify/busboy';
import { DomainError, fail } from '../domain/errors.ts';
import { SNIFF_BYTES } from './types.ts';

export interface Received {
  roomId: string;
  name: string;
  ext: string;
  tmpPath: string;
  size: number;
}

export interface ReceiveOptions {
  maxBytes: number;
  tmpPath: () => string;
  /** Throws (not-found) when the uploader may not post to the room. */
  checkRoom(roomId: string): void;
  /** The cleaned name and its extension; throws `file-type-not-allowed`. */
  checkName(raw: string): { name: string; ext: string };
  /** Throws `file-content-mismatch` when the first bytes are not the extension's content. */
  checkHead(ext: string, head: Buffer): void;
}

/** The client went away mid-upload: nothing to answer, nothing to log as an error. */
export class ClientAborted extends Error {}

/** Room ids and anything else we read from fields: short, plain. */
const MAX_FIELD = 256;

/**
 * Removes what a name must not carry: directories (both separators), control characters, and the
 * bidirectional overrides that make `gpj.exe` display as `exe.jpg`. NFC, so that a name typed on a
 * Mac (NFD) and one typed on Windows compare and display the same. At most 255 characters, keeping
 * the extension.
 */
export function cleanFileName(raw: string): string {
  let name = raw.normalize('NFC');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  if (/^\.+$/.test(name)) name = '';
  if (name.length > 255) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    name = name.slice(0, 255 - ext.length) + ext;
  }
  return name;
}

export function receiveUpload(req: IncomingMessage, opts: ReceiveOptions): Promise<Received> {
  const type = String(req.headers['content-type'] ?? '');
  if (!/^multipart\/form-data\s*;/i.test(type)) fail('multipart-required');
  // a declared length far over the limit is refused before reading anything
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > opts.maxBytes + 64 * 1024) fail('file-too-large', tooLarge(opts.maxBytes));

  return new Promise<Received>((resolve, reject) => {
    let bb: ReturnType<typeof Busboy>;
    try {
      bb = Busboy({
        headers: req.headers as { 'content-type': string },
        defCharset: 'utf8',
        limits: { fileSize: opts.maxBytes, files: 1, fields: 4, fieldSize: MAX_FIELD, parts: 6, headerPairs: 20 },
      });
    } catch {
      return reject(new DomainError('multipart-required', 'The multipart body has no boundary.'));
    }
    let roomId: string | null = null;
    let tmp: string | null = null;
    let out: fs.WriteStream | null = null;
    let fileStream: NodeJS.ReadableStream | null = null;
    let result: Received | null = null;
    let writing: Promise<void> | null = null;
    let settled = false;

    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      if (err) {
        req.unpipe(bb);
        if (fileStream && out) fileStream.unpipe(out);
        fileStream?.resume();
        out?.destroy();
        if (tmp) fs.rm(tmp, { force: true }, () => {});
        reject(err);
      } else resolve(result!);
    };
    const refuse = (e: unknown) => finish(e instanceof Error ? e : new DomainError('bad-request'));

    bb.on('field', (field, value, _nameTruncated, valueTruncated) => {
      if (field !== 'room_id') return;
      if (valueTruncated) return refuse(new DomainError('not-found'));
      try {
        roomId = value.trim();
        if (!roomId) fail('room-id-required');
        opts.checkRoom(roomId);
      } catch (e) {
        refuse(e);
      }
    });

    bb.on('file', (field, stream, filename) => {
      if (settled) return void stream.resume();
      if (field !== 'file') return void stream.resume();
      try {
        if (!roomId) fail('room-id-required', 'Send the room_id field before the file.');
        const { name, ext } = opts.checkName(filename ?? '');
        tmp = opts.tmpPath();
        out = fs.createWriteStream(tmp, { flags: 'wx' });
        fileStream = stream;
        let head = Buffer.alloc(0);
        let checked = false;
        let size = 0;
        const check = () => {
          checked = true;
          opts.checkHead(ext, head);
        };
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (!checked && head.length < SNIFF_BYTES) {
            head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
            if (head.length >= SNIFF_BYTES) {
              try {
                check();
              } catch (e) {
                return refuse(e);
              }
            }
          }
        });
        stream.on('limit', () => refuse(new DomainError('file-too-large', tooLarge(opts.maxBytes))));
        const w = out;
        writing = new Promise<void>((done, failed) => {
          w.on('finish', () => done());
          w.on('error', failed);
          stream.on('end', () => {
            if (settled) return;
            try {
              if (!checked) check();
            } catch (e) {
              return refuse(e);
            }
            result = { roomId: roomId!, name, ext, tmpPath: tmp!, size };
          });
        });
        // a refusal destroys the temp file's stream mid-write: that error is expected, not a crash
        writing.catch(() => {});
        stream.pipe(w);
      } catch (e) {
        stream.resume();
        refuse(e);
      }
    });

    bb.on('finish', () => {
      if (settled) return;
      if (!writing) return refuse(new DomainError(roomId ? 'file-required' : 'room-id-required'));
      writing.then(
        () => (result ? finish(null) : refuse(new DomainError('file-required'))),
        (err) => refuse(err),
      );
    });
    bb.on('error', () => refuse(new DomainError('bad-request', 'The multipart body is malformed.')));
    bb.on('partsLimit', () => refuse(new DomainError('bad-request', 'Too many parts.')));
    bb.on('filesLimit', () => refuse(new DomainError('bad-request', 'One file per upload.')));
    req.on('aborted', () => refuse(new ClientAborted()));
    req.on('error', () => refuse(new ClientAborted()));
    req.pipe(bb);
  });
}

function tooLarge(max: number): string {
  return `Files are at most ${max} bytes.`;
}
