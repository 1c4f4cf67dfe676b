/** What a document connection carries through the hooks, and how a thrown error reaches the client. */
import type { DocAccess } from '../auth/access.ts';
import { DomainError, ERRORS } from '../domain/errors.ts';
import type { SocketState } from './sockets.ts';

export interface CollabContext {
  socket?: SocketState;
  /** Set on the server's own direct connections: the kind of write. */
  server?: string;
  user?: { id: string };
  sessionId?: string;
  access?: DocAccess;
  /** When this document connection authenticated (the reconnect grace for offline backlogs). */
  authAt?: number;
}

/** What Hocuspocus reads from a thrown value: `code` closes with it, `reason` is the client-visible code. */
export function refusal(e: unknown): { code: number; reason: string } {
  if (e instanceof DomainError) return e.closeEvent;
  return { code: ERRORS['internal-error'].close, reason: 'internal-error' };
}
