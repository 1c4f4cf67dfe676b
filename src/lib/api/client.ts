/**
 * The one way the web app talks to `/api`: same-origin fetch (the httpOnly `session` cookie rides
 * along), JSON in and out, and every failure turned into an `ApiError` carrying the server's code.
 */
import { notices } from '$lib/state/notices.svelte.ts';
import type { PublicConfig, RoomDetail, RoomSummary, User } from './types.ts';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** `429`: the server's `Retry-After`, in seconds (when it sent one). */
  readonly retryAfterSec: number | undefined;
  constructor(code: string, message: string, status: number, retryAfterSec?: number) {
    super(message);
    this.code = code;
    this.status = status;
    this.retryAfterSec = retryAfterSec;
  }
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError('network-error', e instanceof Error ? e.message : String(e), 0);
  }
  // the server answered: a "cannot reach the server" toast is moot now
  notices.resolve('network-error');
  if (res.status === 204) return undefined as T;
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new ApiError(err?.code ?? 'internal-error', err?.message ?? res.statusText, res.status, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
  }
  return data as T;
}

export const api = {
  config: () => request<PublicConfig>('GET', '/api/config'),
  me: () => request<{ user: User }>('GET', '/api/me'),
  login: (username: string, password: string) => request<{ user: User }>('POST', '/api/login', { username, password }),
  register: (username: string, password: string, displayName?: string, invite?: string) =>
    request<{ user: User }>('POST', '/api/register', { username, password, ...(displayName ? { displayName } : {}), ...(invite ? { invite } : {}) }),
  checkInvite: (invite: string) => request<{ invite: { expiresAt: number } }>('POST', '/api/invites/check', { invite }),
  logout: () => request<void>('POST', '/api/logout'),
  users: (q: string) => request<{ users: User[] }>('GET', `/api/users?q=${encodeURIComponent(q)}`),
  rooms: () => request<{ rooms: RoomSummary[] }>('GET', '/api/rooms'),
  room: (id: string) => request<{ room: RoomDetail }>('GET', `/api/rooms/${encodeURIComponent(id)}`),
  createRoom: (input: { name?: string; memberIds: string[] }) => request<{ room: RoomDetail }>('POST', '/api/rooms', input),
  invite: (id: string, userIds: string[]) => request<{ room: RoomDetail }>('POST', `/api/rooms/${encodeURIComponent(id)}/members`, { userIds }),
  leave: (id: string) => request<void>('POST', `/api/rooms/${encodeURIComponent(id)}/leave`),
  markRead: (id: string, seq: number) => request<{ seq: number }>('PUT', `/api/rooms/${encodeURIComponent(id)}/read`, { seq }),
};
