/**
 * The one client error path. Expected failures carry a server error code (HTTP `error.code`, or the
 * close/denial reason of a /collab document) and are shown with that code; anything else is logged
 * and shown as `internal-error`. A code that means "your session is gone" also ends the session.
 */
import { ApiError } from '$lib/api/client.ts';
import { errorText, t } from '$lib/i18n/index.ts';
import { notices } from '$lib/state/notices.svelte.ts';

/** A refusal from the collaboration server: the reason is an error code from the server's table. */
export class RefusalError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(code);
    this.code = code;
  }
}

const SESSION_ENDED = new Set(['unauthorized', 'session-revoked', 'account-disabled']);
/** The code means the session behind this tab is gone: retrying anything is pointless. */
export const endsSession = (code: string) => SESSION_ENDED.has(code);

const sessionEndedListeners = new Set<() => void>();

/** The session owner registers here to be told when a request finds the session gone. */
export function onSessionEnded(fn: () => void): () => void {
  sessionEndedListeners.add(fn);
  return () => sessionEndedListeners.delete(fn);
}

export function errorCode(error: unknown): string {
  if (error instanceof ApiError || error instanceof RefusalError) return error.code;
  return 'internal-error';
}

/** `cause`: what must go away for the toast to be moot (default: the code); see `notices.resolve`. */
export function handleError(error: unknown, cause?: string): void {
  const code = errorCode(error);
  if (code === 'internal-error' && !(error instanceof ApiError)) console.error(error);
  if (SESSION_ENDED.has(code)) {
    for (const fn of sessionEndedListeners) fn();
    // a disabled account says so (at login too): logging in again will not help
    notices.push(code, code === 'account-disabled' ? errorText(code) : t.notices.sessionEnded);
    return;
  }
  const serverText = error instanceof ApiError ? error.message : undefined;
  notices.push(code, errorText(code, serverText), cause);
}
