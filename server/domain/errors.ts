/**
 * The one error-code table. Each code maps to an HTTP status and a WebSocket close code; clients see
 * the code (as `error.code` in JSON, as the close `reason` on `/collab`) and a human message.
 */
export const ERRORS = {
  'bad-request': { status: 400, close: 4400, message: 'The request is malformed.' },
  'invalid-json': { status: 400, close: 4400, message: 'The body is not valid JSON.' },
  'validation-failed': { status: 400, close: 4400, message: 'A field is missing or has the wrong type.' },
  'invalid-username': { status: 400, close: 4400, message: 'Usernames are 3-20 letters, digits or underscores.' },
  'weak-password': { status: 400, close: 4400, message: 'Passwords are 8-200 characters with a letter and a digit.' },
  'payload-too-large': { status: 413, close: 4413, message: 'The body is too large.' },
  'unsupported-media-type': { status: 415, close: 4400, message: 'Send application/json.' },
  'headers-too-large': { status: 431, close: 4400, message: 'The request headers are too large.' },
  'request-timeout': { status: 408, close: 4400, message: 'The request took too long to arrive.' },
  'unauthorized': { status: 401, close: 4401, message: 'Log in first.' },
  'invalid-credentials': { status: 401, close: 4401, message: 'Wrong username or password.' },
  'session-revoked': { status: 401, close: 4401, message: 'This session has ended (logged out, revoked or expired); log in again.' },
  'account-disabled': { status: 403, close: 4403, message: 'This account is disabled.' },
  'forbidden': { status: 403, close: 4403, message: 'You may not do that.' },
  'bad-origin': { status: 403, close: 4403, message: 'Cross-origin request refused.' },
  'registration-closed': { status: 403, close: 4403, message: 'Registration is closed; an admin creates accounts.' },
  'invite-required': { status: 403, close: 4403, message: 'Registration needs an invite link.' },
  'invite-invalid': { status: 403, close: 4403, message: 'This invite link is unknown, used up, expired or revoked.' },
  'not-found': { status: 404, close: 4404, message: 'Not found.' },
  'not-a-member': { status: 404, close: 4404, message: 'Not found.' },
  'method-not-allowed': { status: 405, close: 4400, message: 'Method not allowed.' },
  'username-taken': { status: 409, close: 4409, message: 'That username is taken.' },
  'not-admin': { status: 403, close: 4403, message: 'Only a room admin may do that.' },
  'last-admin': { status: 409, close: 4409, message: 'A room must keep at least one admin.' },
  'cannot-kick-admin': { status: 409, close: 4409, message: 'Admins cannot be kicked; demote first.' },
  'cannot-kick-self': { status: 409, close: 4409, message: 'Use leave to leave a room.' },
  'direct-room': { status: 409, close: 4409, message: 'A 1:1 room cannot be changed that way.' },
  'backup-not-configured': { status: 409, close: 4409, message: 'Set BACKUP_DIR to make backups from the dashboard.' },
  'rate-limited': { status: 429, close: 4429, message: 'Too many requests; slow down.' },
  'login-locked': { status: 429, close: 4429, message: 'Too many failed logins for this account; wait and try again.' },
  // collaboration refusals (an update is refused as a whole, the document stays unchanged)
  'read-only': { status: 403, close: 4403, message: 'This document is written by the server only.' },
  'update-too-large': { status: 413, close: 4413, message: 'The update is larger than allowed.' },
  'malformed-update': { status: 400, close: 4400, message: 'The update cannot be decoded.' },
  'schema-violation': { status: 400, close: 4400, message: 'The update does not follow the document schema.' },
  'forged-author': { status: 403, close: 4403, message: 'A message must carry its writer as author.' },
  'not-author': { status: 403, close: 4403, message: 'Only the author may change this message.' },
  'server-owned': { status: 403, close: 4403, message: 'That field is written by the server only.' },
  'message-too-long': { status: 400, close: 4400, message: 'The message is too long.' },
  'segment-closed': { status: 410, close: 4410, message: 'This segment no longer accepts writes.' },
  'resync': { status: 409, close: 4409, message: 'Sync this document again, keeping local state.' },
  'missing-dependency': { status: 409, close: 4409, message: 'The update depends on your own content the server has not received yet; re-sync this document.' },
  'duplicate-id': { status: 409, close: 4409, message: 'A message with this id already exists in this room.' },
  'client-id-taken': { status: 403, close: 4403, message: 'That Yjs client id belongs to another user.' },
  'invalid-option': { status: 400, close: 4400, message: 'That option does not belong to this poll.' },
  'single-choice': { status: 400, close: 4400, message: 'This poll takes exactly one option.' },
  'poll-closed': { status: 409, close: 4409, message: 'This poll is closed.' },
  'anonymous-vote': { status: 400, close: 4400, message: 'Votes in anonymous polls go through POST /api/polls/:id/vote (a document entry would show who voted).' },
  'not-your-vote': { status: 403, close: 4403, message: 'You can only cast your own vote.' },
  'not-poll-owner': { status: 403, close: 4403, message: 'Only the poll creator or a room admin may close it.' },
  'not-pin-owner': { status: 403, close: 4403, message: 'Only the member who pinned a notice or a room admin may unpin it.' },
  'invalid-limit': { status: 400, close: 4400, message: 'limit must be an integer (it is clamped to 1..100).' },
  'invalid-offset': { status: 400, close: 4400, message: 'offset must be a non-negative integer (at most 10000).' },
  'last-server-admin': { status: 409, close: 4409, message: 'The server must keep at least one enabled server admin.' },
  // files and uploads
  'room-id-required': { status: 400, close: 4400, message: 'room_id is required (send it before the file).' },
  'file-required': { status: 400, close: 4400, message: 'The upload has no file part.' },
  'multipart-required': { status: 415, close: 4400, message: 'Send multipart/form-data.' },
  'file-too-large': { status: 413, close: 4413, message: 'The file is larger than allowed.' },
  'file-type-not-allowed': { status: 400, close: 4400, message: 'Files of this type are not allowed.' },
  'file-content-mismatch': { status: 400, close: 4400, message: 'The file content does not match its extension.' },
  'upload-token-invalid': { status: 403, close: 4403, message: 'That upload token is not valid for this user, room and file.' },
  'upload-token-used': { status: 409, close: 4409, message: 'That upload token has been used.' },
  'upload-token-expired': { status: 410, close: 4410, message: 'That upload token has expired; fetch a new one from the upload job.' },
  'file-not-ready': { status: 409, close: 4409, message: 'The file is still being scanned, or was rejected.' },
  'not-an-image': { status: 415, close: 4400, message: 'A profile photo must be a JPEG, PNG, WebP, GIF or AVIF image.' },
  'attachment-mismatch': { status: 400, close: 4400, message: 'An attachment must carry the name, size, type and dimensions of its upload.' },
  // single sign-on (OIDC): the browser flow shows these on the login page (`/login?error=<code>`)
  'password-login-disabled': { status: 403, close: 4403, message: 'Password login is off on this server; sign in with the company account.' },
  'oidc-state-invalid': { status: 400, close: 4400, message: 'This sign-in attempt expired, was already used or began in another browser; start again.' },
  'oidc-code-invalid': { status: 400, close: 4400, message: 'The sign-in provider refused the authorization code; start again.' },
  'oidc-token-invalid': { status: 401, close: 4401, message: 'The ID token failed its checks (signature, issuer, audience, expiry or nonce).' },
  'oidc-denied': { status: 401, close: 4401, message: 'Sign-in was cancelled or refused at the sign-in provider.' },
  'oidc-account-disabled': { status: 403, close: 4403, message: 'The account linked to this company login is disabled.' },
  'oidc-unavailable': { status: 503, close: 4500, message: 'The sign-in provider cannot be reached; try again later.' },
  'internal-error': { status: 500, close: 4500, message: 'Something went wrong on the server.' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** For `rate-limited`: seconds until a retry can pass (sent as `Retry-After`). */
  retryAfterSec?: number;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].message);
    this.code = code;
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
  /** Shape Hocuspocus reads when a hook throws: it closes the document connection with it. */
  get closeEvent(): { code: number; reason: string } {
    return { code: ERRORS[this.code].close, reason: this.code };
  }
}

export const fail = (code: ErrorCode, message?: string): never => {
  throw new DomainError(code, message);
};
