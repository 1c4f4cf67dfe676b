/**
 * The server admin API (ADMIN-API-CONTRACT.md) as the dashboard reads it. Every route answers a
 * non-admin `404 not-found`, exactly like a missing route; errors arrive as `ApiError` through the
 * app's one client.
 */
import { request } from '$lib/api/client.ts';

export type { AdminUser } from '$lib/protocol/admin.ts';
import type { AdminUser } from '$lib/protocol/admin.ts';

export interface AdminSession {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  userAgent: string;
}

export interface AdminRoom {
  id: string;
  name: string;
  kind: 'direct' | 'group';
  visibility: 'joined' | 'shared';
  members: number;
  messages: number;
  bytes: number;
  lastActivityAt: number | null;
  createdAt: number;
}

export type Registration = 'open' | 'invite-only' | 'closed';

export interface AdminSettings {
  registration: Registration;
  retentionDays: number;
  uploadMaxBytes: number;
  uploadTypes: string[];
  knownUploadTypes: string[];
  avScan: boolean;
  avAvailable: boolean;
}

/** What an admin may change (the rest of `AdminSettings` is the server's to say). */
export type SettingsPatch = Partial<Pick<AdminSettings, 'registration' | 'retentionDays' | 'uploadMaxBytes' | 'uploadTypes' | 'avScan'>>;

export interface AdminStats {
  connections: number;
  documents: number;
  messagesLastMinute: number;
  messagesToday: number;
  refusals: Record<string, number>;
  storage: { databaseBytes: number; walBytes: number; uploadsBytes: number };
  memory: { rss: number; heapUsed: number };
  eventLoopDelayMs: { p50: number; p99: number };
  disk: { freeBytes: number; totalBytes: number } | null;
  clamd: 'off' | 'up' | 'down';
  uptimeSec: number;
}

export interface AuditEntry {
  id: string | number;
  at: number;
  actorId: string | null;
  actorName: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  roomId: string | null;
  ip: string | null;
  details: unknown;
}

export interface AuditFilters {
  actor: string;
  action: string;
  room: string;
  /** `YYYY-MM-DD` in the browser's time zone, or ''. */
  from: string;
  to: string;
}

export interface Page {
  limit: number;
  offset: number;
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The date inputs as the API's inclusive ms range: from the start of `from` to the end of `to`. */
export function auditRange(f: Pick<AuditFilters, 'from' | 'to'>): { from?: number; to?: number } {
  const day = (v: string) => {
    const [y, m, d] = v.split('-').map(Number);
    return new Date(y, m - 1, d);
  };
  return {
    ...(f.from ? { from: day(f.from).getTime() } : {}),
    ...(f.to ? { to: new Date(day(f.to).getTime() + 86_400_000 - 1).getTime() } : {}),
  };
}

/** The query of an audit listing or export: the same filters for both. */
export function auditQuery(f: AuditFilters, extra: Record<string, string | number> = {}): string {
  return query({ actor: f.actor.trim(), action: f.action.trim(), room: f.room.trim(), ...auditRange(f), ...extra });
}

export interface AdminInvite {
  id: string;
  createdBy: string | null;
  createdByName: string;
  createdAt: number;
  expiresAt: number;
  maxUses: number;
  uses: number;
  revokedAt: number | null;
  note: string;
  state: 'active' | 'used-up' | 'expired' | 'revoked';
}

export interface MaintenanceJob {
  name: string;
  description: string;
  everyMs: number;
  running: boolean;
  last: { at: number; durationMs: number; ok: boolean; result?: unknown; error?: string } | null;
}

export const adminApi = {
  invites: () => request<{ invites: AdminInvite[] }>('GET', '/api/admin/invites'),
  createInvite: (input: { maxUses: number; days: number; note?: string }) => request<{ invite: AdminInvite; secret: string; path: string }>('POST', '/api/admin/invites', input),
  revokeInvite: (id: string) => request<{ invite: AdminInvite }>('DELETE', `/api/admin/invites/${enc(id)}`),
  maintenance: () => request<{ jobs: MaintenanceJob[] }>('GET', '/api/admin/maintenance'),
  backup: () => request<{ backup: unknown }>('POST', '/api/admin/backup'),
  runJob: (name: string) => request<{ run: unknown }>('POST', `/api/admin/maintenance/${enc(name)}`),
  users: (q: string, page: Page) => request<{ users: AdminUser[]; total: number }>('GET', `/api/admin/users${query({ q: q.trim(), ...page })}`),
  createUser: (input: { username: string; password: string; displayName?: string; admin?: boolean }) => request<{ user: AdminUser }>('POST', '/api/admin/users', input),
  updateUser: (id: string, patch: { disabled?: boolean; admin?: boolean; displayName?: string }) => request<{ user: AdminUser }>('PATCH', `/api/admin/users/${enc(id)}`, patch),
  setPassword: (id: string, password: string) => request<void>('POST', `/api/admin/users/${enc(id)}/password`, { password }),
  deleteUser: (id: string) => request<void>('DELETE', `/api/admin/users/${enc(id)}`),
  sessions: (id: string) => request<{ sessions: AdminSession[] }>('GET', `/api/admin/users/${enc(id)}/sessions`),
  revokeSession: (id: string, sid: string) => request<void>('DELETE', `/api/admin/users/${enc(id)}/sessions/${enc(sid)}`),
  rooms: (q: string, page: Page) => request<{ rooms: AdminRoom[]; total: number }>('GET', `/api/admin/rooms${query({ q: q.trim(), ...page })}`),
  removeRoom: (id: string) => request<void>('DELETE', `/api/admin/rooms/${enc(id)}`),
  settings: () => request<{ settings: AdminSettings }>('GET', '/api/admin/settings'),
  saveSettings: (patch: SettingsPatch) => request<{ settings: AdminSettings }>('PATCH', '/api/admin/settings', patch),
  stats: () => request<AdminStats>('GET', '/api/admin/stats'),
  audit: (f: AuditFilters, page: Page) => request<{ entries: AuditEntry[]; total: number }>('GET', `/api/admin/audit${auditQuery(f, { ...page })}`),
  /** A plain link (the browser downloads it with the session cookie). */
  exportUrl: (f: AuditFilters, format: 'json' | 'csv') => `/api/admin/audit${auditQuery(f, { format })}`,
};
