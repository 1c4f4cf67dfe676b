/**
 * The `/collab` WebSocket endpoint: checks Origin and the session cookie at upgrade time, caps
 * sockets that still have to authenticate by token (per IP, and a deadline of a few seconds),
 * hands sockets to Hocuspocus, and keeps the index needed to close a session's sockets at once.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Hocuspocus } from '@hocuspocus/server';
import type { Authenticated, SessionService } from '../auth/sessions.ts';
import { readCookie, originAllowed } from '../http/request-info.ts';
import type { Logger } from 'pino';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { RATE_LIMITS, type RateLimit } from '../http/rate-limits.ts';
import type { OutputGate } from './output-gate.ts';
import type { Arrivals } from './arrivals.ts';

export interface SocketState {
  ws: WebSocket;
  ip: string;
  /** Set from the cookie at upgrade, or by the first document that authenticates with a token. */
  auth: Authenticated | null;
  /** The session cookie's token, re-validated when each document authenticates. */
  cookieToken: string | null;
  sessionIds: Set<string>;
  closed: boolean;
  /** Counted in presence (from its first authenticated document until it closes). */
  counted?: boolean;
}

export const UNAUTH_DEADLINE_MS = 5_000;
export const UNAUTH_PER_IP = RATE_LIMITS.unauthSockets.points;
export const MAX_FRAME_BYTES = 2 * 1024 * 1024;
/** Hocuspocus message types of the connection-level keep-alive (one byte, no document name). */
const PING = Uint8Array.of(9);
const PONG = 10;

export class CollabSockets {
  private wss: WebSocketServer;
  private bySession = new Map<string, Set<SocketState>>();
  private unauthByIp = new Map<string, number>();
  readonly all = new Set<SocketState>();

  constructor(
    private hocuspocus: Hocuspocus,
    private sessions: SessionService,
    private allowedOrigins: string[],
    private log: Logger,
    upgradeLimit: RateLimit,
    maxFrameBytes = MAX_FRAME_BYTES,
    pingIntervalMs = 15_000,
    /** Told when a user's socket becomes authenticated and when it closes (presence). */
    private userSockets: { opened(userId: string): void; closed(userId: string): void } = { opened() {}, closed() {} },
    /** Every frame sent goes through it: nothing leaves before it is durable. */
    private gate: OutputGate | null = null,
    /** Every frame received gets its arrival ticket here (the order of each author's seqs). */
    private arrivals: Arrivals | null = null,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes });
    this.upgradeLimiter = new RateLimiterMemory({ points: upgradeLimit.points, duration: upgradeLimit.durationSec });
    // With awareness off, an idle socket carries no messages: the provider would reconnect after
    // 30 s of silence and Hocuspocus would time the socket out. The provider answers PING with PONG.
    this.pinger = setInterval(() => {
      for (const state of this.all) if (state.auth && state.ws.readyState === state.ws.OPEN) state.ws.send(PING);
    }, pingIntervalMs);
    this.pinger.unref();
  }
  private pinger: NodeJS.Timeout;
  private upgradeLimiter: RateLimiterMemory;

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const refuse = (status: number, code: string, retryAfterSec?: number) => {
      const retry = retryAfterSec ? `Retry-After: ${retryAfterSec}\r\n` : '';
      socket.end(`HTTP/1.1 ${status} ${code}\r\nConnection: close\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n${retry}\r\n${JSON.stringify({ error: { code, message: code } })}`);
    };
    if (!originAllowed(req, this.allowedOrigins)) return refuse(403, 'bad-origin');
    const ip = req.socket.remoteAddress ?? 'unknown';
    try {
      await this.upgradeLimiter.consume(ip);
    } catch (r) {
      return refuse(429, 'rate-limited', Math.max(1, Math.ceil(((r as { msBeforeNext?: number }).msBeforeNext ?? 1000) / 1000)));
    }
    const cookieToken = readCookie(req, 'session');
    const auth = this.sessions.validate(cookieToken);
    // the sockets over the cap close within UNAUTH_DEADLINE_MS unless they authenticate
    if (!auth && (this.unauthByIp.get(ip) ?? 0) >= UNAUTH_PER_IP) return refuse(429, 'rate-limited', UNAUTH_DEADLINE_MS / 1000);

    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, ip, auth, auth ? cookieToken : null));
  }

  private accept(ws: WebSocket, req: IncomingMessage, ip: string, auth: Authenticated | null, cookieToken: string | null) {
    this.gate?.wrap(ws);
    const state: SocketState = { ws, ip, auth, cookieToken, sessionIds: new Set(), closed: false };
    this.all.add(state);
    if (auth) this.bind(state, auth);
    else {
      this.unauthByIp.set(ip, (this.unauthByIp.get(ip) ?? 0) + 1);
      setTimeout(() => {
        if (!state.auth && !state.closed) ws.close(4401, 'unauthorized');
      }, UNAUTH_DEADLINE_MS).unref();
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const request = new Request(`http://localhost${req.url ?? '/collab'}`, { headers });
    const connection = this.hocuspocus.handleConnection(ws, request, { socket: state });
    ws.on('message', (data, isBinary) => {
      if (state.closed || !isBinary) return;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (buf.length === 1 && buf[0] === PONG) {
        connection.lastMessageReceivedAt = Date.now(); // Hocuspocus itself cannot parse a bare PONG
        return;
      }
      const frame = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      // its arrival ticket: the order its messages get their seqs in (arrivals.ts)
      this.arrivals?.stamp(frame);
      connection.handleMessage(frame);
    });
    ws.on('close', (code, reason) => {
      this.gate?.discard(ws);
      this.forget(state);
      connection.handleClose({ code, reason: reason.toString() });
    });
    ws.on('error', (err) => this.log.debug({ err }, 'collab socket error'));
    (state as SocketState & { connection?: typeof connection }).connection = connection;
  }

  /** Called by onAuthenticate: the socket now belongs to that session. */
  bind(state: SocketState, auth: Authenticated): void {
    if (!state.auth) {
      state.auth = auth;
      this.decUnauth(state.ip);
    }
    if (!state.counted) {
      state.counted = true;
      this.userSockets.opened(auth.user.id);
    }
    state.sessionIds.add(auth.session.id);
    let set = this.bySession.get(auth.session.id);
    if (!set) this.bySession.set(auth.session.id, (set = new Set()));
    set.add(state);
  }

  /** Ends every socket of the given sessions: documents are detached at once, the socket is closed. */
  closeSessions(ids: string[], reason = 'session-revoked'): void {
    for (const id of ids) {
      for (const state of this.bySession.get(id) ?? []) this.kill(state, reason === 'account-disabled' ? 4403 : 4401, reason);
    }
  }

  kill(state: SocketState, code: number, reason: string): void {
    if (state.closed) return;
    this.forget(state);
    const connection = (state as SocketState & { connection?: { handleClose(e: { code: number; reason: string }): void } }).connection;
    connection?.handleClose({ code, reason });
    state.ws.close(code, reason);
    // a peer that ignores the close frame is cut off
    setTimeout(() => state.ws.terminate(), 1000).unref();
  }

  private forget(state: SocketState) {
    if (state.closed) return;
    state.closed = true;
    if (state.counted) this.userSockets.closed(state.auth!.user.id);
    this.all.delete(state);
    if (!state.auth) this.decUnauth(state.ip);
    for (const id of state.sessionIds) {
      const set = this.bySession.get(id);
      set?.delete(state);
      if (set?.size === 0) this.bySession.delete(id);
    }
  }

  private decUnauth(ip: string) {
    const n = (this.unauthByIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.unauthByIp.delete(ip);
    else this.unauthByIp.set(ip, n);
  }

  closeAll(): void {
    clearInterval(this.pinger);
    for (const state of [...this.all]) this.kill(state, 1001, 'server-shutdown');
    this.wss.close();
  }
}
