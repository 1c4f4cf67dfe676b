/** The `/api` routes (SPEC §5a). Each handler validates its input and calls one service method. */
import { z } from 'zod';
import type { Route, RequestContext } from './router.ts';
import type { Services } from '../services.ts';
import { toPublicUser } from '../repos/users.ts';
import { fail } from '../domain/errors.ts';
import { DEFAULT_UPLOAD_TYPES, isImageType } from '../files/types.ts';
import { AuditService } from '../domain/audit.ts';
import type { TLSSocket } from 'node:tls';

const id = z.string().min(1).max(64);
const visibility = z.enum(['joined', 'shared']);

/** The session cookie (password and OIDC logins alike); `Secure` under HTTPS. */
export function sessionCookie(ctx: Pick<RequestContext, 'req'>, token: string, maxAgeSec: number): string {
  const secure = (ctx.req.socket as TLSSocket).encrypted ? '; Secure' : '';
  return `session=${encodeURIComponent(token)}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAgeSec}${secure}`;
}

/** `?limit=`: absent → the default; not an integer → 400; otherwise clamped to [min, max]. */
function clampInt(raw: string | null, fallback: number, min: number, max: number): number {
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) fail('validation-failed', 'limit: an integer');
  return Math.min(Math.max(Number(raw), min), max);
}

/** Search paging: `limit` clamped to 1..100 (default 20), `offset` 0..10000 (default 0). */
function searchLimit(raw: string | null): number {
  if (raw === null || raw === '') return 20;
  if (!/^-?\d{1,9}$/.test(raw)) fail('invalid-limit');
  return Math.min(Math.max(Number(raw), 1), 100);
}
function searchOffset(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) > 10_000) fail('invalid-offset');
  return Number(raw);
}

/**
 * Headers of a stored file. The type is ours (from the extension table, checked against the bytes),
 * `nosniff` keeps browsers from second-guessing it, and the sandbox CSP makes even a mistaken inline
 * render inert. The original name goes in RFC 5987 `filename*` (Korean names survive), with an
 * ASCII fallback for old clients.
 */
export function fileHeaders(type: string, name: string, inline: boolean): Record<string, string> {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return {
    'content-type': type.startsWith('text/') ? `${type}; charset=utf-8` : type,
    'content-disposition': `${inline ? 'inline' : 'attachment'}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`,
    'x-content-type-options': 'nosniff',
    'cache-control': 'private, max-age=86400',
    'content-security-policy': "default-src 'none'; sandbox; frame-ancestors 'none'",
    'cross-origin-resource-policy': 'same-origin',
  };
}

/** `?limit=&offset=` for admin lists: limit clamped to 1..100 (default 50), offset ≥ 0. */
function page(q: URLSearchParams): { limit: number; offset: number } {
  return { limit: clampInt(q.get('limit'), 50, 1, 100), offset: clampInt(q.get('offset'), 0, 0, 1_000_000) };
}

/** Audit filters from the query string (`from`/`to`: ms, inclusive). */
function auditQuery(q: URLSearchParams, room: string | null) {
  const num = (k: string) => {
    const v = q.get(k);
    if (v === null || v === '') return null;
    if (!/^\d{1,15}$/.test(v)) fail('validation-failed', `${k}: a time in ms`);
    return Number(v);
  };
  const format = q.get('format') ?? 'json';
  if (format !== 'json' && format !== 'csv') fail('validation-failed', 'format: json or csv');
  const exporting = q.has('format');
  return {
    format,
    query: {
      actor: q.get('actor') || null, action: q.get('action') || null, room: room ?? (q.get('room') || null),
      from: num('from'), to: num('to'),
      // an export takes everything that matches (up to 100,000 rows); a page is clamped
      ...(exporting ? { limit: 100_000, offset: 0 } : page(q)),
    },
  };
}

function auditReply(s: Services, q: ReturnType<typeof auditQuery>) {
  const result = s.audit.query(q.query);
  if (q.format === 'csv') {
    return { raw: { type: 'text/csv; charset=utf-8', body: AuditService.csv(result.entries), filename: 'audit-log.csv' } };
  }
  if (q.format === 'json' && q.query.limit === 100_000) {
    return { raw: { type: 'application/json; charset=utf-8', body: JSON.stringify(result), filename: 'audit-log.json' } };
  }
  return { body: result };
}

export interface ApiPorts {
  /** Reads a message from its segment document (for pins). */
  readMessage(roomId: string, segment: number, id: string): Promise<import('../../src/lib/protocol/schema.ts').Message | null>;
  /** Live figures for the dashboard. */
  stats(): Promise<unknown>;
  /** Maintenance jobs: their last runs, and a run by hand. */
  maintenance?: { list(): unknown[]; has(name: string): boolean; run(name: string): Promise<unknown> };
  /** Online backups to BACKUP_DIR: one now, verified (joins one in progress). */
  backup?: { configured: boolean; run(): Promise<unknown> };
}

export function apiRoutes(s: Services, ports: ApiPorts): Route[] {
  const cookieAge = s.config.sessionDays * 24 * 3600;
  const ua = (ctx: RequestContext) => String(ctx.req.headers['user-agent'] ?? '');
  const loggedIn = (ctx: RequestContext, r: { user: unknown; token: string }, status = 200) => ({
    status,
    body: { user: r.user, token: r.token },
    headers: { 'set-cookie': sessionCookie(ctx, r.token, cookieAge) },
  });

  return [
    // ---- accounts -------------------------------------------------------------------------
    {
      method: 'POST', path: '/api/register', auth: false, limit: 'register',
      async handler(ctx) {
        // no length caps here: the account rules answer `invalid-username` / `weak-password` (the body is capped anyway)
        const body = await ctx.body(z.strictObject({ username: z.string(), password: z.string(), displayName: z.string().max(100).optional(), invite: z.string().max(100).optional() }));
        return loggedIn(ctx, await s.accounts.register(body, ua(ctx)), 201);
      },
    },
    // the login page asks whether its ?invite= link still works before showing the form
    // (a POST: the secret stays out of URLs and request logs)
    {
      method: 'POST', path: '/api/invites/check', auth: false, limit: 'auth',
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ invite: z.string().max(100) }));
        return { body: { invite: s.invites.check(body.invite) } };
      },
    },
    {
      method: 'POST', path: '/api/login', auth: false, limit: 'auth',
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ username: z.string(), password: z.string() }));
        return loggedIn(ctx, await s.accounts.login(body, ua(ctx), ctx.ip));
      },
    },
    {
      method: 'POST', path: '/api/logout', auth: false,
      handler(ctx) {
        const auth = s.sessions.validate(ctx.token);
        if (auth) s.sessions.revoke([auth.session.id]);
        return { status: 204, headers: { 'set-cookie': sessionCookie(ctx, '', 0) } };
      },
    },
    // the row is read again: the session's cached copy may predate a profile or photo change
    { method: 'GET', path: '/api/me', auth: true, handler: (ctx) => ({ body: { user: toPublicUser(s.repos.users.byId(ctx.auth.user.id) ?? ctx.auth.user), sessionId: ctx.auth.session.id } }) },
    {
      method: 'PATCH', path: '/api/me', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ displayName: z.string().max(100).optional(), statusMessage: z.string().max(500).optional() }));
        return { body: { user: s.accounts.updateProfile(ctx.auth.user.id, body) } };
      },
    },
    {
      method: 'DELETE', path: '/api/me', auth: true, limit: 'auth',
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ password: z.string().max(200) }));
        await s.accounts.deleteAccount(ctx.auth.user.id, body.password);
        await s.avatars.remove(ctx.auth.user.id);
        return { status: 204, headers: { 'set-cookie': sessionCookie(ctx, '', 0) } };
      },
    },
    {
      method: 'PUT', path: '/api/me/password', auth: true, limit: 'auth',
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ currentPassword: z.string().max(1000), newPassword: z.string() }));
        await s.accounts.changePassword(ctx.auth.user.id, ctx.auth.session.id, body);
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: '/api/me/sessions', auth: true,
      handler: (ctx) => ({
        body: {
          sessions: s.sessions.list(ctx.auth.user.id).map((r) => ({
            id: r.id, createdAt: r.created_at, lastUsedAt: r.last_used_at, expiresAt: r.expires_at, userAgent: r.user_agent, current: r.id === ctx.auth.session.id,
          })),
        },
      }),
    },
    {
      method: 'DELETE', path: '/api/me/sessions/:id', auth: true,
      handler(ctx) {
        const mine = s.sessions.list(ctx.auth.user.id).some((r) => r.id === ctx.params.id);
        if (!mine) fail('not-found');
        s.sessions.revoke([ctx.params.id]);
        return { status: 204 };
      },
    },
    {
      method: 'POST', path: '/api/me/avatar', auth: true, limit: 'upload',
      async handler(ctx) {
        await s.avatars.set(ctx.auth.user.id, ctx.raw());
        return { body: { user: toPublicUser(s.repos.users.byId(ctx.auth.user.id)!) } };
      },
    },
    {
      method: 'DELETE', path: '/api/me/avatar', auth: true,
      async handler(ctx) {
        await s.avatars.clear(ctx.auth.user.id);
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: '/api/users/:id/avatar', auth: true,
      handler: (ctx) => ({
        file: {
          path: s.avatars.path(ctx.params.id),
          // versioned URLs (`?v=avatarAt`): a new photo is a new URL, so the old one may be cached long
          headers: { ...fileHeaders('image/webp', 'avatar.webp', true), 'cache-control': 'private, max-age=31536000, immutable' },
        },
      }),
    },
    {
      method: 'GET', path: '/api/users', auth: true,
      handler(ctx) {
        const q = (ctx.query.get('q') ?? '').normalize('NFC').slice(0, 50);
        const limit = Math.min(Math.max(Number(ctx.query.get('limit')) || 20, 1), 50);
        return { body: { users: s.users.search(q, limit).map(toPublicUser) } };
      },
    },

    // ---- rooms ----------------------------------------------------------------------------
    { method: 'GET', path: '/api/rooms', auth: true, handler: (ctx) => ({ body: { rooms: s.rooms.list(ctx.auth.user.id) } }) },
    {
      method: 'POST', path: '/api/rooms', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ name: z.string().max(200).optional(), memberIds: z.array(id).min(1).max(500), visibility: visibility.optional() }));
        return { status: 201, body: { room: s.rooms.create(ctx.auth.user.id, body) } };
      },
    },
    { method: 'GET', path: '/api/rooms/:id', auth: true, handler: (ctx) => ({ body: { room: s.rooms.get(ctx.auth.user.id, ctx.params.id) } }) },
    {
      method: 'PATCH', path: '/api/rooms/:id', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ name: z.string().max(200).optional(), visibility: visibility.optional() }));
        return { body: { room: s.rooms.update(ctx.auth.user.id, ctx.params.id, body) } };
      },
    },
    {
      method: 'POST', path: '/api/rooms/:id/members', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ userIds: z.array(id).min(1).max(500) }));
        return { body: { room: s.rooms.invite(ctx.auth.user.id, ctx.params.id, body.userIds) } };
      },
    },
    {
      method: 'DELETE', path: '/api/rooms/:id/members/:userId', auth: true,
      handler(ctx) {
        s.rooms.kick(ctx.auth.user.id, ctx.params.id, ctx.params.userId);
        return { status: 204 };
      },
    },
    {
      method: 'PUT', path: '/api/rooms/:id/admins/:userId', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ admin: z.boolean() }));
        return { body: { room: s.rooms.setAdmin(ctx.auth.user.id, ctx.params.id, ctx.params.userId, body.admin) } };
      },
    },
    {
      method: 'POST', path: '/api/rooms/:id/leave', auth: true,
      handler(ctx) {
        s.rooms.leave(ctx.auth.user.id, ctx.params.id);
        return { status: 204 };
      },
    },
    {
      method: 'PUT', path: '/api/rooms/:id/prefs', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ pinned: z.boolean().optional(), muted: z.boolean().optional() }));
        return { body: { room: s.rooms.setPrefs(ctx.auth.user.id, ctx.params.id, body) } };
      },
    },

    {
      method: 'PUT', path: '/api/rooms/:id/read', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }));
        const room = s.rooms.get(ctx.auth.user.id, ctx.params.id);
        return { body: { seq: s.polls.markRead(ctx.auth.user.id, room.id, body.seq, s.repos.rooms.byId(room.id)!.last_seq) } };
      },
    },
    {
      method: 'POST', path: '/api/rooms/:id/pins', auth: true, limit: 'pins',
      async handler(ctx) {
        const body = await ctx.body(z.union([
          z.strictObject({ messageId: z.string().min(8).max(40), segment: z.number().int().min(0) }),
          z.strictObject({ text: z.string().min(1).max(1000) }),
        ]));
        s.access.membership(ctx.auth.user.id, ctx.params.id);
        if ('messageId' in body) {
          // only a message the actor may read (a later joiner of a `joined` room cannot pin, and so read, older segments)
          s.access.document(ctx.auth.user.id, `room:${ctx.params.id}:${body.segment}`);
          const msg = await ports.readMessage(ctx.params.id, body.segment, body.messageId);
          if (!msg) fail('not-found', 'No such message.');
          // a file-only message is pinned under its file names
          const excerpt = msg!.text.trim() || (msg!.attachments ?? []).map((a) => a.name).join(', ');
          return { status: 201, body: { pin: s.polls.pin(ctx.auth.user.id, ctx.params.id, { messageId: body.messageId, segment: body.segment, text: excerpt }) } };
        }
        return { status: 201, body: { pin: s.polls.pin(ctx.auth.user.id, ctx.params.id, { text: body.text }) } };
      },
    },
    {
      method: 'DELETE', path: '/api/rooms/:id/pins/:pinId', auth: true, limit: 'pins',
      handler(ctx) {
        s.polls.unpin(ctx.auth.user.id, ctx.params.id, ctx.params.pinId);
        return { status: 204 };
      },
    },
    {
      method: 'POST', path: '/api/rooms/:id/polls', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({
          question: z.string().max(300), options: z.array(z.string().max(100)).min(2).max(10),
          multiple: z.boolean().optional(), anonymous: z.boolean().optional(), endsAt: z.number().int().positive().nullable().optional(),
        }));
        return { status: 201, body: { poll: s.polls.create(ctx.auth.user.id, ctx.params.id, body) } };
      },
    },
    { method: 'GET', path: '/api/polls/:id', auth: true, handler: (ctx) => ({ body: { poll: s.polls.get(ctx.auth.user.id, ctx.params.id) } }) },
    {
      method: 'POST', path: '/api/polls/:id/vote', auth: true,
      async handler(ctx) {
        const body = await ctx.body(z.union([
          z.strictObject({ optionIds: z.array(z.string().min(1).max(64)).min(1).max(10) }),
          z.strictObject({ optionId: z.string().min(1).max(64) }),
        ]));
        const optionIds = 'optionIds' in body ? body.optionIds : [body.optionId];
        return { body: { poll: s.polls.vote(ctx.auth.user.id, ctx.params.id, optionIds) } };
      },
    },
    {
      method: 'POST', path: '/api/polls/:id/close', auth: true,
      handler: (ctx) => ({ body: { poll: s.polls.close(ctx.auth.user.id, ctx.params.id) } }),
    },

    // ---- files --------------------------------------------------------------------------------
    {
      method: 'POST', path: '/api/upload', auth: true, limit: 'upload',
      async handler(ctx) {
        return { status: 201, body: await s.files.upload(ctx.raw(), ctx.auth.user.id) };
      },
    },
    {
      method: 'GET', path: '/api/upload/jobs/:id', auth: true,
      handler: (ctx) => ({ body: s.files.job(ctx.auth.user.id, ctx.params.id) }),
    },
    {
      method: 'GET', path: '/api/files/:id', auth: true,
      handler(ctx) {
        const row = s.files.readable(ctx.auth.user.id, ctx.params.id);
        // only raster images are ever shown inline; everything else downloads under its own name
        const inline = isImageType(row.type) && ctx.query.get('download') !== '1';
        return { file: { path: s.fileStore.filePath(row.id), headers: fileHeaders(row.type, row.name, inline) } };
      },
    },
    {
      method: 'GET', path: '/api/files/:id/thumb', auth: true,
      handler(ctx) {
        const row = s.files.readable(ctx.auth.user.id, ctx.params.id);
        if (!row.thumb) fail('not-found', 'This file has no thumbnail.');
        return { file: { path: s.fileStore.thumbPath(row.id), headers: fileHeaders('image/webp', `${row.name}.webp`, true) } };
      },
    },
    {
      method: 'DELETE', path: '/api/files/:id', auth: true,
      async handler(ctx) {
        await s.files.delete(ctx.auth.user.id, ctx.params.id);
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: '/api/rooms/:id/files', auth: true,
      handler(ctx) {
        const kind = ctx.query.get('kind');
        if (kind !== null && kind !== 'image' && kind !== 'document') fail('validation-failed', 'kind: image or document');
        const limit = clampInt(ctx.query.get('limit'), 30, 1, 100);
        return { body: s.files.roomFiles(ctx.auth.user.id, ctx.params.id, { kind: kind as 'image' | 'document' | null, limit, before: ctx.query.get('before') }) };
      },
    },

    // ---- server admin (the dashboard) -----------------------------------------------------------
    {
      method: 'GET', path: '/api/admin/users', auth: true, admin: true,
      handler: (ctx) => ({ body: s.admin.listUsers((ctx.query.get('q') ?? '').normalize('NFC').slice(0, 50), page(ctx.query).limit, page(ctx.query).offset) }),
    },
    {
      method: 'POST', path: '/api/admin/users', auth: true, admin: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ username: z.string(), password: z.string(), displayName: z.string().max(100).optional(), admin: z.boolean().optional() }));
        return { status: 201, body: { user: await s.admin.createUser(ctx.auth.user.id, body) } };
      },
    },
    {
      method: 'PATCH', path: '/api/admin/users/:id', auth: true, admin: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ disabled: z.boolean().optional(), admin: z.boolean().optional(), displayName: z.string().max(100).optional() }));
        return { body: { user: s.admin.updateUser(ctx.auth.user.id, ctx.params.id, body) } };
      },
    },
    {
      method: 'POST', path: '/api/admin/users/:id/password', auth: true, admin: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ password: z.string() }));
        await s.admin.resetPassword(ctx.auth.user.id, ctx.params.id, body.password);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE', path: '/api/admin/users/:id', auth: true, admin: true,
      async handler(ctx) {
        s.admin.deleteUser(ctx.auth.user.id, ctx.params.id);
        await s.avatars.remove(ctx.params.id);
        return { status: 204 };
      },
    },
    { method: 'GET', path: '/api/admin/users/:id/sessions', auth: true, admin: true, handler: (ctx) => ({ body: { sessions: s.admin.sessionsOf(ctx.params.id) } }) },
    {
      method: 'DELETE', path: '/api/admin/users/:id/sessions/:sid', auth: true, admin: true,
      handler(ctx) {
        s.admin.revokeSession(ctx.auth.user.id, ctx.params.id, ctx.params.sid);
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: '/api/admin/rooms', auth: true, admin: true,
      handler: (ctx) => ({ body: s.admin.listRooms((ctx.query.get('q') ?? '').normalize('NFC').slice(0, 50), page(ctx.query).limit, page(ctx.query).offset) }),
    },
    {
      method: 'DELETE', path: '/api/admin/rooms/:id', auth: true, admin: true,
      handler(ctx) {
        s.admin.removeRoom(ctx.auth.user.id, ctx.params.id);
        return { status: 204 };
      },
    },
    { method: 'GET', path: '/api/admin/settings', auth: true, admin: true, handler: () => ({ body: { settings: { ...s.admin.settings(), knownUploadTypes: DEFAULT_UPLOAD_TYPES } } }) },
    {
      method: 'PATCH', path: '/api/admin/settings', auth: true, admin: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({
          registration: z.enum(['open', 'invite-only', 'closed']).optional(), retentionDays: z.number().int().optional(),
          uploadMaxBytes: z.number().int().optional(), uploadTypes: z.array(z.string().max(10)).max(100).optional(), avScan: z.boolean().optional(),
        }));
        return { body: { settings: { ...s.admin.updateSettings(ctx.auth.user.id, body), knownUploadTypes: DEFAULT_UPLOAD_TYPES } } };
      },
    },
    { method: 'GET', path: '/api/admin/invites', auth: true, admin: true, handler: () => ({ body: { invites: s.invites.list() } }) },
    {
      method: 'POST', path: '/api/admin/invites', auth: true, admin: true,
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ maxUses: z.number().int().optional(), days: z.number().int().optional(), note: z.string().max(200).optional() }));
        const { invite, secret } = s.invites.create(ctx.auth.user.id, body);
        // the secret is shown once: only its hash is stored
        return { status: 201, body: { invite, secret, path: `/login?invite=${secret}` } };
      },
    },
    { method: 'DELETE', path: '/api/admin/invites/:id', auth: true, admin: true, handler: (ctx) => ({ body: { invite: s.invites.revoke(ctx.auth.user.id, ctx.params.id) } }) },
    { method: 'GET', path: '/api/admin/stats', auth: true, admin: true, handler: async () => ({ body: await ports.stats() }) },
    {
      method: 'POST', path: '/api/admin/backup', auth: true, admin: true,
      async handler(ctx) {
        if (!ports.backup?.configured) fail('backup-not-configured');
        s.db.transaction(() => s.audit.record({ actorId: ctx.auth.user.id, action: 'admin.backup', targetType: 'backup' }))();
        return { body: { backup: await ports.backup!.run() } };
      },
    },
    { method: 'GET', path: '/api/admin/maintenance', auth: true, admin: true, handler: () => ({ body: { jobs: ports.maintenance?.list() ?? [] } }) },
    {
      method: 'POST', path: '/api/admin/maintenance/:job', auth: true, admin: true,
      async handler(ctx) {
        if (!ports.maintenance?.has(ctx.params.job)) fail('not-found');
        s.db.transaction(() => s.audit.record({ actorId: ctx.auth.user.id, action: 'admin.maintenance', targetType: 'job', targetId: ctx.params.job }))();
        return { body: { run: await ports.maintenance!.run(ctx.params.job) } };
      },
    },
    { method: 'GET', path: '/api/admin/audit', auth: true, admin: true, handler: (ctx) => auditReply(s, auditQuery(ctx.query, null)) },
    {
      method: 'GET', path: '/api/rooms/:id/audit', auth: true,
      handler(ctx) {
        // a room's admins see their room's entries
        s.access.requireAdmin(ctx.auth.user.id, ctx.params.id);
        return auditReply(s, auditQuery(ctx.query, ctx.params.id));
      },
    },

    // ---- search -------------------------------------------------------------------------------
    {
      method: 'GET', path: '/api/search', auth: true, limit: 'search',
      handler(ctx) {
        const q = ctx.query;
        return {
          body: s.search.search(ctx.auth.user.id, {
            query: q.get('q') ?? '', roomId: q.get('room_id') || null,
            limit: searchLimit(q.get('limit')), offset: searchOffset(q.get('offset')),
          }),
        };
      },
    },
    {
      method: 'POST', path: '/api/search/advanced', auth: true, limit: 'search',
      async handler(ctx) {
        const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');
        const body = await ctx.body(z.strictObject({
          query: z.string().max(200), room_id: id.nullable().optional(), sender_id: id.nullable().optional(),
          date_from: day.nullable().optional(), date_to: day.nullable().optional(), time_zone: z.string().max(64).nullable().optional(),
          files_only: z.boolean().optional(), limit: z.unknown().optional(), offset: z.unknown().optional(),
        }));
        return {
          body: s.search.search(ctx.auth.user.id, {
            query: body.query, roomId: body.room_id ?? null, senderId: body.sender_id ?? null,
            dateFrom: body.date_from ?? null, dateTo: body.date_to ?? null, timeZone: body.time_zone ?? null,
            filesOnly: body.files_only ?? false,
            limit: searchLimit(body.limit === undefined ? null : String(body.limit)), offset: searchOffset(body.offset === undefined ? null : String(body.offset)),
          }),
        };
      },
    },

    // ---- public -----------------------------------------------------------------------------
    {
      method: 'GET', path: '/api/config', auth: false,
      handler: () => ({
        body: {
          version: s.version,
          registration: s.settings.get().registration,
          messages: { maxChars: s.config.maxMessageChars, maxUpdateBytes: s.config.maxUpdateBytes },
          segments: { maxMessages: s.config.segmentMaxMessages, maxBytes: s.config.segmentMaxBytes },
          uploads: s.files.publicConfig(),
          rateLimits: s.rateLimits,
          features: { uploads: true, search: true, oidc: s.oidc !== null, polls: true, reactions: true, pins: true, presence: true },
        },
      }),
    },
  ];
}
