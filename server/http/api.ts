/** The `/api` routes (SPEC §5a). Each handler validates its input and calls one service method. */
import { z } from 'zod';
import type { Route, RequestContext } from './router.ts';
import type { Services } from '../services.ts';
import { toPublicUser } from '../repos/users.ts';
import { fail } from '../domain/errors.ts';
import type { TLSSocket } from 'node:tls';

const id = z.string().min(1).max(64);
const visibility = z.enum(['joined', 'shared']);

function sessionCookie(ctx: RequestContext, token: string, maxAgeSec: number): string {
  const secure = (ctx.req.socket as TLSSocket).encrypted ? '; Secure' : '';
  return `session=${encodeURIComponent(token)}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAgeSec}${secure}`;
}

export function apiRoutes(s: Services): Route[] {
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
      method: 'POST', path: '/api/register', auth: false, limit: 'auth',
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ username: z.string().max(64), password: z.string().max(200), displayName: z.string().max(100).optional() }));
        return loggedIn(ctx, await s.accounts.register(body, ua(ctx)), 201);
      },
    },
    {
      method: 'POST', path: '/api/login', auth: false, limit: 'auth',
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ username: z.string().max(64), password: z.string().max(200) }));
        return loggedIn(ctx, await s.accounts.login(body, ua(ctx)));
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
    { method: 'GET', path: '/api/me', auth: true, handler: (ctx) => ({ body: { user: toPublicUser(ctx.auth.user), sessionId: ctx.auth.session.id } }) },
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
        return { status: 204, headers: { 'set-cookie': sessionCookie(ctx, '', 0) } };
      },
    },
    {
      method: 'PUT', path: '/api/me/password', auth: true, limit: 'auth',
      async handler(ctx) {
        const body = await ctx.body(z.strictObject({ currentPassword: z.string().max(200), newPassword: z.string().max(200) }));
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

    // ---- public -----------------------------------------------------------------------------
    {
      method: 'GET', path: '/api/config', auth: false,
      handler: () => ({
        body: {
          version: s.version,
          registration: s.config.registration,
          messages: { maxChars: s.config.maxMessageChars, maxUpdateBytes: s.config.maxUpdateBytes },
          segments: { maxMessages: s.config.segmentMaxMessages, maxBytes: s.config.segmentMaxBytes },
          rateLimits: s.rateLimits,
          features: { uploads: false, search: false, oidc: false, polls: false },
        },
      }),
    },
  ];
}
