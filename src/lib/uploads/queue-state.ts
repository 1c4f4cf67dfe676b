/**
 * The life of one queued file, as pure functions of its record (no I/O, no clock of its own), so
 * that the queue's rules can be tested without a browser.
 *
 *   waiting ──upload──▶ (clean, token) ──▶ sending ──post──▶ gone (the message is in the outbox)
 *      ▲                 (queued) ──▶ scanning ──poll job──▶ clean + token ──▶ sending
 *      │ network, 5xx, 429                                   clean, no token ──▶ gone (already sent)
 *      └──────────────                                       rejected / error ──▶ failed
 *   refused (too large, type, not a member, virus …) ──▶ failed (shown with the reason, dismissable)
 *
 * A message carrying the file that the server refused for its token (expired, used, not ready)
 * comes back here: the job endpoint hands out a fresh token, and the file goes out again in a new
 * message. `phase` is for display; the next step follows from what the record holds.
 */
import type { PrecheckError } from './limits.ts';
import type { FileInfo, JobResponse, UploadResponse } from './upload-api.ts';

export type UploadPhase = 'waiting' | 'uploading' | 'scanning' | 'sending' | 'failed';

export interface UploadFailure {
  code: string;
  /** The server's text, or the scanner's reason for a rejection. */
  message?: string;
  /** `file-too-large`: the limit in bytes. */
  limit?: number;
  /** `file-type-not-allowed`: the allowed extensions. */
  allowed?: string[];
  /** True when "retry" can help (a scan error, a refused message); false for a final verdict. */
  retryable: boolean;
}

export interface UploadRecord {
  /** The item's own key (stable for its life). */
  id: string;
  /** The id of the message the file goes out in (pre-generated; a new one after a refusal). */
  messageId: string;
  roomId: string;
  /** Client clock at the moment the user added the file (`nextCreatedAt`); the message's createdAt. */
  createdAt: number;
  /** Text sent with the file (may be empty). */
  caption: string;
  name: string;
  type: string;
  size: number;
  /** The bytes; null when there is nothing to upload (refused before upload, or already on the server). */
  blob: Blob | null;
  /** An image's own size, for a preview that takes its place without a jump. */
  width?: number;
  height?: number;
  /** What the server made of the upload, once it has it. */
  file: FileInfo | null;
  token: string | null;
  /** When the token was handed out (client clock). */
  tokenAt: number;
  phase: UploadPhase;
  /** The last thing that went wrong (a transient one while waiting, the verdict when failed). */
  error: UploadFailure | null;
  /** Consecutive transient failures (network, server errors): the back-off grows with them. */
  attempts: number;
  /** Times a message with this file was refused: a loop guard. */
  refusals: number;
}

export type Step = 'upload' | 'poll' | 'post' | 'none';

/** Upload and job-poll errors that a later attempt may get past: keep the item waiting. */
const TRANSIENT = new Set(['network-error', 'internal-error', 'rate-limited']);
/** Refusals of the message that a fresh token from the job endpoint can fix. */
export const TOKEN_REFUSALS = new Set(['upload-token-expired', 'upload-token-used', 'upload-token-invalid', 'file-not-ready']);
const MAX_REFUSALS = 3;
/** Ask for a fresh token this long before the server's expiry (the message still has to travel). */
const TOKEN_MARGIN_MS = 30_000;
const JUST_HANDED_OUT_MS = 2000;

export interface NewItem {
  id: string;
  messageId: string;
  roomId: string;
  createdAt: number;
  caption?: string;
  file: { name: string; type: string; size: number };
  blob: Blob;
  width?: number;
  height?: number;
}

export function newRecord(input: NewItem, refused: PrecheckError | null): UploadRecord {
  const base: UploadRecord = {
    id: input.id,
    messageId: input.messageId,
    roomId: input.roomId,
    createdAt: input.createdAt,
    caption: input.caption ?? '',
    name: input.file.name,
    type: input.file.type,
    size: input.file.size,
    blob: refused ? null : input.blob, // a file the server would refuse is not kept (it may be huge)
    ...(input.width && input.height ? { width: input.width, height: input.height } : {}),
    file: null,
    token: null,
    tokenAt: 0,
    phase: 'waiting',
    error: null,
    attempts: 0,
    refusals: 0,
  };
  return refused ? fail(base, { ...refused, retryable: false }) : base;
}

export function fail(r: UploadRecord, error: UploadFailure): UploadRecord {
  return { ...r, phase: 'failed', error };
}

/**
 * True while the token can still be spent before the server's expiry (ttl unknown: trust it). A
 * token just handed out is always tried, however short the server's ttl: a refusal as expired comes
 * back here a bounded number of times (`afterRefusal`), never an endless ask-again.
 */
export function tokenFresh(r: UploadRecord, now: number, ttlSec: number | null): boolean {
  if (!r.token) return false;
  if (ttlSec === null) return true;
  const ttl = ttlSec * 1000;
  return now - r.tokenAt < Math.max(ttl - TOKEN_MARGIN_MS, ttl / 2, JUST_HANDED_OUT_MS);
}

export function nextStep(r: UploadRecord, now: number, ttlSec: number | null): Step {
  if (r.phase === 'failed') return 'none';
  if (!r.file) return r.blob ? 'upload' : 'none';
  return tokenFresh(r, now, ttlSec) ? 'post' : 'poll';
}

export function afterUpload(r: UploadRecord, res: UploadResponse, now: number): UploadRecord {
  const ready = res.job.state === 'clean' && res.token !== null;
  return { ...r, file: res.file, token: ready ? res.token : null, tokenAt: ready ? now : 0, phase: ready ? 'sending' : 'scanning', error: null, attempts: 0 };
}

/** What a job answer means: a record to keep, or `done` (the file is already in a message). */
export function afterJob(r: UploadRecord, res: JobResponse, now: number): UploadRecord | 'done' {
  const { state, reason } = res.job;
  if (state === 'clean') {
    if (res.token === null) return 'done';
    return { ...r, file: res.file, token: res.token, tokenAt: now, phase: 'sending', error: null, attempts: 0 };
  }
  if (state === 'rejected') return fail(r, { code: 'file-rejected', ...(reason ? { message: reason } : {}), retryable: false });
  if (state === 'error') return fail(r, { code: 'scan-error', ...(reason ? { message: reason } : {}), retryable: true });
  return { ...r, file: res.file, phase: 'scanning', error: null, attempts: 0 };
}

export function isTransient(code: string, status: number): boolean {
  return TRANSIENT.has(code) || status === 0 || status >= 500 || status === 429;
}

/** An upload or a job poll failed with this code. */
export function afterError(r: UploadRecord, code: string, status: number, message?: string): UploadRecord {
  if (isTransient(code, status)) return { ...r, phase: r.file ? 'scanning' : 'waiting', error: { code, retryable: true }, attempts: r.attempts + 1 };
  // the job is gone (the server dropped an unattached file): upload it again if we still have it
  if (code === 'not-found' && r.file && r.blob) return { ...r, file: null, token: null, tokenAt: 0, phase: 'waiting', error: null };
  return fail(r, { code, ...(message ? { message } : {}), retryable: false });
}

/**
 * The server refused the message carrying this file. A token problem: ask the job endpoint again,
 * under a new message id (the refused message may still be somewhere); anything else, or too many times: failed.
 */
export function afterRefusal(r: UploadRecord, code: string, newMessageId: string): UploadRecord {
  const next = { ...r, messageId: newMessageId, token: null, tokenAt: 0, refusals: r.refusals + 1 };
  if (!TOKEN_REFUSALS.has(code) || next.refusals > MAX_REFUSALS) return fail(next, { code, retryable: true });
  return { ...next, phase: 'scanning', error: null };
}

/** "Retry" on a failed item: from the start, or from the job if the server has the file. */
export function retry(r: UploadRecord): UploadRecord | null {
  if (r.phase !== 'failed' || !r.error?.retryable) return null;
  if (!r.file && !r.blob) return null;
  return { ...r, phase: r.file ? 'scanning' : 'waiting', error: null, attempts: 0, refusals: r.file ? r.refusals : 0 };
}

/** Back-off after transient failures: 1 s, 2 s, 4 s … up to 30 s. */
export function backoffMs(attempts: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempts - 1));
}

/** Polling a scan in progress: 0.5 s, 1 s, 2 s … up to 10 s. */
export function pollDelayMs(polls: number): number {
  return Math.min(10_000, 500 * 2 ** polls);
}

/** Where the upload stands in words' terms (the component picks the words). */
export type UploadStatus =
  | { kind: 'offline' }
  | { kind: 'queued' }
  | { kind: 'rate-limited' }
  | { kind: 'uploading'; percent: number }
  | { kind: 'scanning' }
  | { kind: 'sending' }
  | { kind: 'failed'; error: UploadFailure };

export function statusOf(r: UploadRecord, online: boolean, progress: number | undefined): UploadStatus {
  if (r.phase === 'failed' && r.error) return { kind: 'failed', error: r.error };
  if (r.phase === 'uploading') return { kind: 'uploading', percent: Math.floor((progress ?? 0) * 100) };
  if (r.phase === 'sending') return { kind: 'sending' };
  if (!online || r.error?.code === 'network-error') return { kind: 'offline' };
  if (r.error?.code === 'rate-limited') return { kind: 'rate-limited' };
  if (r.phase === 'scanning') return { kind: 'scanning' };
  return { kind: 'queued' };
}
