/**
 * Requests Node's HTTP parser refuses before any handler runs (headers over the limit, malformed
 * framing, a request that took too long to arrive) get the API's one error shape and the security
 * headers instead of Node's empty `400 Bad Request`. The parser cannot always tell us the path (the
 * broken bytes may come long after the request line), so every such answer is JSON; a browser never
 * shows one anyway.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ERRORS, type ErrorCode } from '../domain/errors.ts';
import type { TLSSocket } from 'node:tls';
import { FALLBACK_CSP, HSTS, PERMISSIONS_POLICY } from './security-headers.ts';

/** Node's parser error codes → ours. Anything else the parser refuses is `bad-request`. */
function codeOf(err: NodeJS.ErrnoException): ErrorCode {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'headers-too-large';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'request-timeout';
    default:
      return 'bad-request';
  }
}

export function clientErrorResponse(code: ErrorCode, https = false): string {
  const e = ERRORS[code];
  const body = JSON.stringify({ error: { code, message: e.message } });
  return [
    `HTTP/1.1 ${e.status} ${code}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    'x-content-type-options: nosniff',
    'referrer-policy: same-origin',
    'x-frame-options: DENY',
    `permissions-policy: ${PERMISSIONS_POLICY}`,
    `content-security-policy: ${FALLBACK_CSP}`,
    ...(https ? [`strict-transport-security: ${HSTS}`] : []),
    'connection: close',
    '',
    body,
  ].join('\r\n');
}

export function answerClientErrors(server: Server, log: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // a peer that went away, or a socket already answering a request: nothing can be written
    const busy = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || busy) return void socket.destroy();
    log.debug({ err: { code: err.code, message: err.message } }, 'refused by the HTTP parser');
    socket.end(clientErrorResponse(codeOf(err), (socket as TLSSocket).encrypted === true));
  });
}
