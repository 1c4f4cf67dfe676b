/** Small readers of the raw Node request shared by the HTTP API and the WebSocket upgrade. */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export function readCookie(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function ownOrigin(req: IncomingMessage): string {
  const secure = (req.socket as TLSSocket).encrypted === true;
  return `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}

/** A missing Origin passes (non-browser clients cannot carry a victim's cookie); a foreign one does not. */
export function originAllowed(req: IncomingMessage, allowed: string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === ownOrigin(req) || allowed.includes(origin);
}

export function bearerToken(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h || !h.startsWith('Bearer ')) return null;
  return h.slice(7).trim() || null;
}
