/**
 * The `/api/me…` calls of the settings screen and the per-room preferences. Same transport and
 * error shape as `client.ts` (every failure is an `ApiError` with the server's code).
 */
import { ApiError, request } from './client.ts';
import type { RoomSummary, User } from './types.ts';

export interface MySession {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  userAgent: string;
  current: boolean;
}

/** The avatar is raw image bytes (not JSON): the server reads the type from them. */
async function uploadAvatar(file: Blob): Promise<{ user: User }> {
  let res: Response;
  try {
    res = await fetch('/api/me/avatar', { method: 'POST', headers: { 'content-type': file.type || 'application/octet-stream' }, body: file });
  } catch (e) {
    throw new ApiError('network-error', e instanceof Error ? e.message : String(e), 0);
  }
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(err?.code ?? 'internal-error', err?.message ?? res.statusText, res.status);
  }
  return data as { user: User };
}

export const accountApi = {
  setPrefs: (roomId: string, prefs: { pinned?: boolean; muted?: boolean }) => request<{ room: RoomSummary }>('PUT', `/api/rooms/${encodeURIComponent(roomId)}/prefs`, prefs),
  changePassword: (currentPassword: string, newPassword: string) => request<void>('PUT', '/api/me/password', { currentPassword, newPassword }),
  sessions: () => request<{ sessions: MySession[] }>('GET', '/api/me/sessions'),
  revokeSession: (id: string) => request<void>('DELETE', `/api/me/sessions/${encodeURIComponent(id)}`),
  deleteAccount: (password: string) => request<void>('DELETE', '/api/me', { password }),
  uploadAvatar,
  removeAvatar: () => request<void>('DELETE', '/api/me/avatar'),
};
