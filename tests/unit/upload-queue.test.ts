/**
 * The rules of the outbound upload queue (src/lib/uploads/queue-state.ts, limits.ts), as pure
 * functions: what a file needs next, what each server answer does to it, when it waits and when it
 * fails with a reason, and the client's pre-checks against the server's published limits.
 */
import { describe, expect, it } from 'vitest';
import type { PublicConfig } from '../../src/lib/api/types.ts';
import { precheck, uploadsEnabled } from '../../src/lib/uploads/limits.ts';
import {
  afterError,
  afterJob,
  afterRefusal,
  afterUpload,
  backoffMs,
  newRecord,
  nextStep,
  retry,
  statusOf,
  type UploadRecord,
} from '../../src/lib/uploads/queue-state.ts';
import type { FileInfo } from '../../src/lib/uploads/upload-api.ts';

const NOW = 1_700_000_000_000;
const TTL = 3600;
const info: FileInfo = { id: 'file_0000001', name: '보고서.pdf', size: 1234, type: 'application/pdf', thumb: false };

function makeItem(extra: Partial<UploadRecord> = {}): UploadRecord {
  const record = newRecord(
    { id: 'item_0000001', messageId: 'msg_00000001', roomId: 'room_0000001', createdAt: NOW, file: { name: '보고서.pdf', type: 'application/pdf', size: 1234 }, blob: new Blob(['x']) },
    null,
  );
  return { ...record, ...extra };
}

function makeConfig(uploads: Partial<NonNullable<PublicConfig['uploads']>> = {}): PublicConfig {
  return {
    messages: { maxChars: 10_000 },
    uploads: { enabled: true, maxBytes: 2000, types: { pdf: 'application/pdf', png: 'image/png', txt: 'text/plain' }, accept: '.pdf,.png,.txt', av: false, tokenTtlSec: TTL, maxAttachments: 10, ...uploads },
  };
}

describe('client pre-checks against the server limits', () => {
  it('refuses a file over the published size, naming the limit', () => {
    expect(precheck({ name: 'a.txt', size: 5000 }, makeConfig())).toEqual({ code: 'file-too-large', limit: 2000 });
    expect(precheck({ name: 'a.txt', size: 2000 }, makeConfig())).toBeNull();
  });

  it('refuses an extension the server does not allow, listing those it does (case-insensitive)', () => {
    expect(precheck({ name: 'setup.exe', size: 10 }, makeConfig())).toEqual({ code: 'file-type-not-allowed', allowed: ['pdf', 'png', 'txt'] });
    expect(precheck({ name: 'README', size: 10 }, makeConfig())?.code).toBe('file-type-not-allowed');
    expect(precheck({ name: '회의록.최종.PDF', size: 10 }, makeConfig())).toBeNull();
  });

  it('leaves the decision to the server while its config is unknown, and refuses everything when uploads are off', () => {
    expect(precheck({ name: 'setup.exe', size: 1e12 }, null)).toBeNull();
    expect(precheck({ name: 'a.txt', size: 1 }, makeConfig({ enabled: false }))).toEqual({ code: 'uploads-disabled' });
    expect(uploadsEnabled({ messages: { maxChars: 1 } })).toBe(false); // a server without uploads
    expect(uploadsEnabled(null)).toBe(true);
  });
});

describe('the life of a queued file', () => {
  it('uploads first, then posts at once when the server says clean with a token', () => {
    const r = makeItem();
    expect(nextStep(r, NOW, TTL)).toBe('upload');
    const up = afterUpload(r, { file: info, token: 'tok_0123456789abcdef', job: { id: info.id, state: 'clean' } }, NOW);
    expect(up).toMatchObject({ phase: 'sending', file: info, token: 'tok_0123456789abcdef', tokenAt: NOW });
    expect(nextStep(up, NOW, TTL)).toBe('post');
  });

  it('polls the job while the file is scanned, and posts with the token the job hands out', () => {
    const up = afterUpload(makeItem(), { file: info, token: null, job: { id: info.id, state: 'queued' } }, NOW);
    expect(up.phase).toBe('scanning');
    expect(nextStep(up, NOW, TTL)).toBe('poll');
    const still = afterJob(up, { job: { id: info.id, state: 'scanning' }, file: info, token: null }, NOW);
    expect(still !== 'done' && nextStep(still, NOW, TTL)).toBe('poll');
    const clean = afterJob(up, { job: { id: info.id, state: 'clean' }, file: info, token: 'tok_fresh_0123456789' }, NOW + 5000);
    expect(clean).toMatchObject({ phase: 'sending', token: 'tok_fresh_0123456789', tokenAt: NOW + 5000 });
  });

  it('shows a virus verdict as final and a scanner error as retryable', () => {
    const up = afterUpload(makeItem(), { file: info, token: null, job: { id: info.id, state: 'queued' } }, NOW);
    const rejected = afterJob(up, { job: { id: info.id, state: 'rejected', reason: 'Eicar-Signature' }, file: info, token: null }, NOW);
    expect(rejected).toMatchObject({ phase: 'failed', error: { code: 'file-rejected', message: 'Eicar-Signature', retryable: false } });
    expect(rejected !== 'done' && nextStep(rejected, NOW, TTL)).toBe('none');
    expect(rejected !== 'done' && retry(rejected)).toBeNull();
    const error = afterJob(up, { job: { id: info.id, state: 'error' }, file: info, token: null }, NOW);
    expect(error !== 'done' && retry(error)).toMatchObject({ phase: 'scanning', error: null });
  });

  it('is done when the job is clean but has no token any more: the file is already in a message', () => {
    const up = afterUpload(makeItem(), { file: info, token: null, job: { id: info.id, state: 'queued' } }, NOW);
    expect(afterJob(up, { job: { id: info.id, state: 'clean' }, file: info, token: null }, NOW)).toBe('done');
  });

  it('asks for a fresh token instead of posting one about to expire', () => {
    const up = afterUpload(makeItem(), { file: info, token: 'tok_0123456789abcdef', job: { id: info.id, state: 'clean' } }, NOW);
    expect(nextStep(up, NOW + (TTL - 60) * 1000, TTL)).toBe('post');
    expect(nextStep(up, NOW + TTL * 1000, TTL)).toBe('poll');
    // a ttl shorter than the margin still lets a token just handed out be tried
    expect(nextStep(up, NOW + 500, 1)).toBe('post');
    expect(nextStep(up, NOW + 5000, 1)).toBe('poll');
  });

  it('waits and backs off on network and server errors and rate limits, never dropping the file', () => {
    const r = makeItem();
    for (const [code, status] of [['network-error', 0], ['internal-error', 503], ['rate-limited', 429]] as const) {
      const next = afterError(r, code, status);
      expect(next).toMatchObject({ phase: 'waiting', attempts: 1, error: { code, retryable: true } });
      expect(nextStep(next, NOW, TTL)).toBe('upload');
    }
    expect([1, 2, 3, 10].map(backoffMs)).toEqual([1000, 2000, 4000, 30_000]);
  });

  it('fails with the reason on a final refusal of the upload (too large, type, not a member)', () => {
    for (const code of ['file-too-large', 'file-type-not-allowed', 'file-content-mismatch', 'not-found']) {
      const next = afterError(makeItem(), code, 400, 'server text');
      expect(next).toMatchObject({ phase: 'failed', error: { code, message: 'server text', retryable: false } });
    }
  });

  it('uploads again when the server lost an unattached file it had (job 404), if the bytes are still here', () => {
    const up = afterUpload(makeItem(), { file: info, token: null, job: { id: info.id, state: 'queued' } }, NOW);
    expect(nextStep(afterError(up, 'not-found', 404), NOW, TTL)).toBe('upload');
    expect(afterError({ ...up, blob: null }, 'not-found', 404).phase).toBe('failed');
  });

  it('goes out again under a new message id with a fresh token after a token refusal, a bounded number of times', () => {
    const sent = afterUpload(makeItem(), { file: info, token: 'tok_0123456789abcdef', job: { id: info.id, state: 'clean' } }, NOW);
    let r = afterRefusal(sent, 'upload-token-expired', 'msg_00000002');
    expect(r).toMatchObject({ messageId: 'msg_00000002', token: null, phase: 'scanning', refusals: 1 });
    expect(nextStep(r, NOW, TTL)).toBe('poll');
    r = afterRefusal(afterRefusal(r, 'file-not-ready', 'msg_3'), 'upload-token-used', 'msg_4');
    expect(r.phase).toBe('scanning');
    expect(afterRefusal(r, 'upload-token-invalid', 'msg_5')).toMatchObject({ phase: 'failed', error: { code: 'upload-token-invalid', retryable: true } });
    expect(afterRefusal(sent, 'message-too-long', 'msg_6').phase).toBe('failed');
  });

  it('keeps no bytes of a file the pre-check refused, and it cannot be retried', () => {
    const r = newRecord({ id: 'item_0000002', messageId: 'msg_00000009', roomId: 'room_0000001', createdAt: NOW, file: { name: 'big.txt', type: 'text/plain', size: 5000 }, blob: new Blob(['x']) }, { code: 'file-too-large', limit: 2000 });
    expect(r).toMatchObject({ blob: null, phase: 'failed', error: { code: 'file-too-large', limit: 2000, retryable: false } });
    expect(nextStep(r, NOW, TTL)).toBe('none');
    expect(retry(r)).toBeNull();
  });

  it('says what it is doing: waiting for the network, uploading n %, scanning, failed', () => {
    const r = makeItem();
    expect(statusOf(r, false, undefined)).toEqual({ kind: 'offline' });
    expect(statusOf(afterError(r, 'network-error', 0), true, undefined)).toEqual({ kind: 'offline' });
    expect(statusOf(r, true, undefined)).toEqual({ kind: 'queued' });
    expect(statusOf({ ...r, phase: 'uploading' }, true, 0.426)).toEqual({ kind: 'uploading', percent: 42 });
    expect(statusOf({ ...r, phase: 'scanning', file: info }, true, undefined)).toEqual({ kind: 'scanning' });
    expect(statusOf(afterError(r, 'file-too-large', 413), true, undefined).kind).toBe('failed');
  });
});
