/**
 * Authentication: who is on a document connection, and what they may do with it.
 *
 * - onAuthenticate fires once per document per (re)connect. It validates the provider's token, or
 *   re-validates the socket's cookie session (cached, so a revoked session cannot open more
 *   documents), and decides access through the access policy; the head and user documents are
 *   read-only. Throwing refuses the document with the error's code as the close reason. Each
 *   document opened counts against the user's `documents` rate limit (`rate-limited` beyond it).
 * - connected fires once the connection is attached. A document can finish unloading between
 *   createDocument() resolving and the connection attaching (a Hocuspocus race): such a connection
 *   would never hear later writes, so it is asked to re-sync (`resync`, transient).
 */
import type { Extension, connectedPayload, onAuthenticatePayload } from '@hocuspocus/server';
import type { Logger } from 'pino';
import type { AccessPolicy } from '../../auth/access.ts';
import type { Authenticated, SessionService } from '../../auth/sessions.ts';
import type { Clock } from '../../domain/deps.ts';
import { DomainError, ERRORS } from '../../domain/errors.ts';
import type { CollabSockets } from '../sockets.ts';
import { refusal, type CollabContext } from '../context.ts';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { RateLimit } from '../../http/rate-limits.ts';

export class Authentication implements Extension {
  extensionName = 'authentication';
  priority = 1000;

  constructor(
    private configuration: {
      sessions: SessionService;
      access: AccessPolicy;
      sockets: () => CollabSockets;
      clock: Clock;
      log: Logger;
      documents: () => Map<string, unknown>;
      /** `rateLimits.documents`: documents a user may open per interval (all sockets together). */
      opens?: RateLimit;
    },
  ) {
    const l = configuration.opens;
    this.opens = l ? new RateLimiterMemory({ points: l.points, duration: l.durationSec }) : null;
  }
  private opens: RateLimiterMemory | null;

  async onAuthenticate({ token, documentName, context, connectionConfig }: onAuthenticatePayload<CollabContext>): Promise<CollabContext> {
    const c = this.configuration;
    try {
      let auth: Authenticated | null = null;
      if (token) {
        auth = c.sessions.validate(token);
        if (!auth) throw new DomainError('unauthorized');
      } else if (context.socket?.auth) {
        auth = c.sessions.validate(context.socket.cookieToken);
      }
      if (!auth) throw new DomainError('unauthorized');
      if (context.socket?.closed) throw new DomainError('session-revoked');
      if (this.opens) await this.opens.consume(auth.user.id).catch(() => { throw new DomainError('rate-limited'); });
      const access = c.access.document(auth.user.id, documentName);
      connectionConfig.readOnly = access.readOnly;
      if (context.socket) c.sockets().bind(context.socket, auth);
      return { user: { id: auth.user.id }, sessionId: auth.session.id, access, authAt: c.clock.now() };
    } catch (e) {
      throw refusal(e);
    }
  }

  async connected({ documentName, connection }: connectedPayload<CollabContext>): Promise<void> {
    if (this.configuration.documents().get(documentName) !== connection.document) {
      this.configuration.log.warn({ documentName }, 'connection attached to an unloaded document instance; asking for a resync');
      connection.close({ code: ERRORS.resync.close, reason: 'resync' });
    }
  }
}
