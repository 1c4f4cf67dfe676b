/**
 * The upload endpoints (docs/PROTOCOL.md, upload contract). `POST /api/upload` goes through
 * XMLHttpRequest, the one browser API with upload progress; the multipart body has the `room_id`
 * field first, then the `file` part (its filename is the original name). Failures are `ApiError`s
 * with the server's code, like every other `/api` call (`network-error` when nothing came back,
 * `aborted` when we cancelled).
 */
import { ApiError, request } from '$lib/api/client.ts';

export type JobState = 'queued' | 'scanning' | 'clean' | 'rejected' | 'error';

export interface FileInfo {
  id: string;
  name: string;
  size: number;
  type: string;
  width?: number;
  height?: number;
  thumb: boolean;
}

export interface UploadResponse {
  file: FileInfo;
  token: string | null;
  job: { id: string; state: JobState };
}

export interface JobResponse {
  job: { id: string; state: JobState; reason?: string };
  file: FileInfo;
  token: string | null;
}

/** An upload refused with `rate-limited`: when to try again (the server's Retry-After, if any). */
export class UploadError extends ApiError {
  readonly retryAfterMs: number | null;
  constructor(code: string, message: string, status: number, retryAfterMs: number | null = null) {
    super(code, message, status);
    this.retryAfterMs = retryAfterMs;
  }
}

export interface SendOptions {
  onProgress?(loaded: number, total: number): void;
  signal?: AbortSignal;
}

export function sendFile(roomId: string, blob: Blob, name: string, opts: SendOptions = {}): Promise<UploadResponse> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const body = new FormData();
    body.append('room_id', roomId); // first: the server knows the room before the bytes arrive
    body.append('file', blob, name);
    const abort = () => xhr.abort();
    if (opts.signal?.aborted) return reject(new UploadError('aborted', 'cancelled', 0));
    opts.signal?.addEventListener('abort', abort, { once: true });
    const done = () => opts.signal?.removeEventListener('abort', abort);
    xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.lengthComputable ? e.total : blob.size);
    xhr.onload = () => {
      done();
      let data: unknown = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        // not JSON (a proxy's error page): handled by the status below
      }
      if (xhr.status === 201 || xhr.status === 200) return resolve(data as UploadResponse);
      const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
      const retry = Number(xhr.getResponseHeader('retry-after'));
      const code = err?.code ?? (xhr.status === 413 ? 'file-too-large' : xhr.status === 429 ? 'rate-limited' : xhr.status >= 500 ? 'internal-error' : 'upload-failed');
      reject(new UploadError(code, err?.message ?? xhr.statusText, xhr.status, retry > 0 ? retry * 1000 : null));
    };
    xhr.onerror = () => {
      done();
      reject(new UploadError('network-error', 'the upload did not reach the server', 0));
    };
    xhr.onabort = () => {
      done();
      reject(new UploadError('aborted', 'cancelled', 0));
    };
    xhr.open('POST', '/api/upload');
    xhr.send(body);
  });
}

export const uploadJob = (fileId: string) => request<JobResponse>('GET', `/api/upload/jobs/${encodeURIComponent(fileId)}`);
