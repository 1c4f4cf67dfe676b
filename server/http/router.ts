/**
 * A small JSON router for `/api`: routes are data, handlers are thin adapters that read the request,
 * call one service method and return JSON. Every error leaves as `{ error: { code, message } }`.
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import { DomainError, ERRORS, fail } from '../domain/errors.ts';
import type { Authenticated, SessionService } from '../auth/sessions.ts';
import { bearerToken, originAllowed, readCookie } from './request-info.ts';
import { ClientAborted } from '../files/receive.ts';
import { requestScope } from '../domain/audit.ts';
import type { RateLimits } from './rate-limits.ts';

export const MAX_JSON_BYTES = 64 * 1024;

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  ip: string;
  /** Set for routes with `auth: true`. */
  auth: Authenticated;
  /** The session token used, and whether it came from the cookie. */
  token: string | null;
  body<T extends z.ZodType>(schema: T): Promise<z.infer<T>>;
  /** The request itself, for a handler that streams its body (uploads); no JSON limit applies. */
  raw(): IncomingMessage;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
  /** A file streamed from disk as the body (downloads), with its own headers. */
  file?: { path: string; headers: Record<string, string> };
  /** A body that is not JSON (exports), sent as a download. */
  raw?: { type: string; body: string; filename: string };
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  auth: boolean;
  /** Server admins only: anyone else (signed in or not) gets `not-found`, as for a missing route. */
  admin?: boolean;
  /** The limiter bucket counted instead of the general write limit (`api`). */
  limit?: 'auth' | 'register' | 'upload' | 'search' | 'pins';
  handler(ctx: RequestContext): Promise<Reply> | Reply;
}

interface Compiled extends Route {
  regex: RegExp;
  keys: string[];
}

/**
 * `endAfter` (a refusal whose body is still coming, see drainRefused): the response is written whole
 * at once with its length and `Connection: close`, our side of the socket is half-closed right
 * after it (the client sees the answer and the end of it, and can stop sending), and the response
 * ends when the rest of the body has been drained.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}, endAfter?: Promise<void>) {
  const text = status === 204 || body === undefined ? '' : JSON.stringify(body);
  const framing = endAfter ? { 'content-length': String(Buffer.byteLength(text)), connection: 'close' } : {};
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers, ...framing });
  if (!endAfter) return void res.end(text || undefined);
  res.write(text);
  res.socket?.end();
  void endAfter.then(() => res.end());
}

export function sendError(res: ServerResponse, e: DomainError, endAfter?: Promise<void>) {
  sendJson(res, e.status, { error: { code: e.code, message: e.message } }, e.retryAfterSec ? { 'retry-after': String(e.retryAfterSec) } : {}, endAfter);
}

/**
 * Reads a JSON body of at most MAX_JSON_BYTES. Listeners, not `for await`: leaving an async iterator
 * early destroys the request, and with it the socket the 413 has to go out on. A client that goes
 * away mid-body rejects with ClientAborted (no answer, no error log).
 */
function readBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > MAX_JSON_BYTES) fail('payload-too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAbort);
      req.off('error', onAbort);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_JSON_BYTES) {
        done();
        return reject(new DomainError('payload-too-large'));
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      if (size === 0) return resolve({});
      if (type !== 'application/json') return reject(new DomainError('unsupported-media-type'));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new DomainError('invalid-json'));
      }
    };
    const onAbort = () => {
      done();
      reject(new ClientAborted());
    };
    const onClose = () => {
      if (!req.complete) onAbort();
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('aborted', onAbort);
    req.once('error', onAbort);
    req.once('close', onClose);
  });
}

/** What a refused request may still send after its answer before the socket is cut. */
export const DRAIN_BYTES = 8 * 1024 * 1024;
export const DRAIN_MS = 10_000;

/**
 * A refusal before the body was read (a body over the limit, an upload to a room the user is not in):
 * the answer goes out at once, complete, and our side of the connection is closed after it (see
 * sendJson); then the rest of the body is read and dropped until the client stops (it sees the end
 * of the answer), up to DRAIN_BYTES or DRAIN_MS, when the socket is cut. This is nginx's lingering
 * close. Closing the socket at once instead would lose the answer: the kernel answers bytes still
 * arriving on a closed socket with a RST, and a client busy sending drops the response it has not
 * read yet. Resolves when the response may end.
 */
function drainRefused(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    let read = 0;
    const cut = () => {
      req.socket.destroy();
      resolve();
    };
    const timer = setTimeout(cut, DRAIN_MS);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > DRAIN_BYTES) cut();
    });
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    req.once('end', done);
    req.once('close', done);
    req.resume();
  });
}

/** The client is gone (reset, aborted mid-body): there is no one to answer. */
function clientGone(req: IncomingMessage, res: ServerResponse): boolean {
  return req.socket.destroyed || res.destroyed || (!req.complete && req.readableAborted);
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: { path: string; headers: Record<string, string> }): Promise<void> {
  const stat = await fs.promises.stat(file.path).catch(() => null);
  if (!stat?.isFile()) throw new DomainError('not-found');
  res.writeHead(200, { ...file.headers, 'content-length': String(stat.size) });
  if (req.method === 'HEAD') return void res.end();
  await new Promise<void>((resolve) => {
    const stream = fs.createReadStream(file.path);
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

export function createRouter(routes: Route[], deps: {
  sessions: SessionService; allowedOrigins: string[]; log: Logger; rateLimits: RateLimits; onRateLimited?: (limit: string) => void;
  /** A promise when collaboration writes are committed but not yet durable: an answer waits for them (it may have read them). */
  durable?: () => Promise<void> | null;
}) {
  const compiled: Compiled[] = routes.map((r) => {
    const keys: string[] = [];
    const pattern = r.path.replace(/:([a-zA-Z]+)/g, (_, k) => {
      keys.push(k);
      return '([^/]+)';
    });
    return { ...r, regex: new RegExp(`^${pattern}$`), keys };
  });
  type Bucket = NonNullable<Route['limit']> | 'api';
  const limiter = (name: Bucket) => new RateLimiterMemory({ points: deps.rateLimits[name].points, duration: deps.rateLimits[name].durationSec });
  const limiters: Record<Bucket, RateLimiterMemory> = {
    auth: limiter('auth'), register: limiter('register'), upload: limiter('upload'), search: limiter('search'), pins: limiter('pins'), api: limiter('api'),
  };
  const consume = async (limiter: RateLimiterMemory, key: string, name: string) => {
    try {
      await limiter.consume(key);
    } catch (r) {
      deps.onRateLimited?.(name);
      const e = new DomainError('rate-limited');
      const ms = (r as { msBeforeNext?: number }).msBeforeNext;
      if (typeof ms === 'number') e.retryAfterSec = Math.max(1, Math.ceil(ms / 1000));
      throw e;
    }
  };

  let requests = 0;
  const prefix = Math.random().toString(36).slice(2, 8);
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // every answer carries its request id, and so does the log line of a failure: support can
    // find one from the other without logging bodies or secrets
    const requestId = `${prefix}-${(++requests).toString(36)}`;
    res.setHeader('x-request-id', requestId);
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const candidates = compiled.filter((r) => r.regex.test(url.pathname));
      if (candidates.length === 0) fail('not-found');
      const route = candidates.find((r) => r.method === req.method);
      // the admin API does not even tell others which methods it has
      if (!route && candidates.every((c) => c.admin) && deps.sessions.validate(bearerToken(req) ?? readCookie(req, 'session'))?.user.is_admin !== 1) fail('not-found');
      if (!route) return sendJson(res, 405, { error: { code: 'method-not-allowed', message: ERRORS['method-not-allowed'].message } }, { allow: candidates.map((c) => c.method).join(', ') });
      const match = route.regex.exec(url.pathname)!;
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => {
        try {
          params[k] = decodeURIComponent(match[i + 1]);
        } catch {
          fail('bad-request');
        }
      });
      const ip = req.socket.remoteAddress ?? 'unknown';
      const writing = req.method !== 'GET';

      const bearer = bearerToken(req);
      const cookie = bearer ? null : readCookie(req, 'session');
      const token = bearer ?? cookie;
      let auth: Authenticated | null = null;
      if (route.admin) {
        auth = deps.sessions.validate(token);
        if (!auth || auth.user.is_admin !== 1) fail('not-found');
      } else if (route.auth) {
        auth = deps.sessions.validate(token);
        if (!auth) fail(deps.sessions.refusal(token));
      }
      // CSRF: a browser sends the cookie on its own; a write carried by the cookie must come from our origin
      // CSRF: what a browser sends on its own (the cookie, or a login form post) must come from our origin;
      // a bearer token cannot be sent by another site, so bearer requests are not checked
      if (writing && !bearer && !originAllowed(req, deps.allowedOrigins)) fail('bad-origin');
      if (writing && !bearer && cookie && !req.headers.origin) fail('bad-origin');
      if (route.limit) {
        const key = deps.rateLimits[route.limit].key === 'ip' || !auth ? ip : auth.user.id;
        await consume(limiters[route.limit], key, route.limit);
      } else if (writing && auth) await consume(limiters.api, auth.user.id, 'api');

      let bodyRead = false;
      const ctx: RequestContext = {
        req,
        res,
        params,
        query: url.searchParams,
        ip,
        auth: auth as Authenticated,
        token,
        async body(schema) {
          bodyRead = true;
          const raw = await readBody(req);
          const parsed = schema.safeParse(raw);
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            return fail('validation-failed', `${issue.path.join('.') || 'body'}: ${issue.message}`);
          }
          return parsed.data;
        },
        raw() {
          bodyRead = true;
          return req;
        },
      };
      const reply = await requestScope.run({ ip }, () => route.handler(ctx));
      if (!bodyRead) req.resume();
      // durable before anyone sees it holds for HTTP answers too (wal-sync.ts)
      const durable = deps.durable?.();
      if (durable) await durable;
      if (reply.file) return await sendFile(req, res, reply.file);
      if (reply.raw) {
        res.writeHead(reply.status ?? 200, {
          'content-type': reply.raw.type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
          'content-disposition': `attachment; filename="${reply.raw.filename}"`,
        });
        return void res.end(reply.raw.body);
      }
      sendJson(res, reply.status ?? 200, reply.body, reply.headers);
    } catch (e) {
      // a client abort is not our failure: no answer, no error-level log
      if (e instanceof ClientAborted || clientGone(req, res)) {
        deps.log.debug({ requestId, method: req.method, path: (req.url ?? '').split('?')[0] }, 'client went away mid-request');
        return void res.destroy();
      }
      if (res.headersSent) {
        deps.log.error({ err: e, requestId, method: req.method, path: (req.url ?? '').split('?')[0] }, 'failed mid-response');
        return void res.destroy();
      }
      const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      const drained = hasBody && !req.complete ? drainRefused(req) : undefined;
      if (e instanceof DomainError) return sendError(res, e, drained);
      deps.log.error({ err: e, requestId, method: req.method, path: (req.url ?? '').split('?')[0] }, 'unexpected error');
      sendJson(res, 500, { error: { code: 'internal-error', message: ERRORS['internal-error'].message } }, {}, drained);
    }
  };
}
