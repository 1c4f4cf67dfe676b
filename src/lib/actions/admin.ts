/**
 * What a server admin does from the dashboard. Each action calls the admin API once, puts the
 * server's answer into the listing shown, and sends a failure through the one error funnel (a
 * `409 last-server-admin` reads as a sentence there). Each returns whether it went through, so that
 * a dialog knows whether to close.
 */
import { adminApi, type AdminRoom, type AdminSettings, type AdminUser, type SettingsPatch } from '$lib/admin/api.ts';
import type { PagedList } from '$lib/admin/paged-list.svelte.ts';
import { handleError } from '$lib/errors/handle-error.ts';

async function attempt(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    handleError(e);
    return false;
  }
}

const sameId = (id: string) => (u: { id: string }) => u.id === id;

export function createUser(users: PagedList<AdminUser>, input: { username: string; password: string; displayName?: string; admin?: boolean }): Promise<boolean> {
  return attempt(async () => {
    await adminApi.createUser(input);
    await users.reload();
  });
}

export function updateUser(users: PagedList<AdminUser>, user: AdminUser, patch: { disabled?: boolean; admin?: boolean }): Promise<boolean> {
  return attempt(async () => {
    const { user: next } = await adminApi.updateUser(user.id, patch);
    users.replace(sameId(user.id), next);
  });
}

export function resetPassword(users: PagedList<AdminUser>, user: AdminUser, password: string): Promise<boolean> {
  return attempt(async () => {
    await adminApi.setPassword(user.id, password);
    // every session of the user ended with it
    users.replace(sameId(user.id), { ...user, sessions: 0 });
  });
}

export function deleteUser(users: PagedList<AdminUser>, user: AdminUser): Promise<boolean> {
  return attempt(async () => {
    await adminApi.deleteUser(user.id);
    await users.load();
  });
}

export function revokeSession(users: PagedList<AdminUser>, userId: string, sessionId: string): Promise<boolean> {
  return attempt(async () => {
    await adminApi.revokeSession(userId, sessionId);
    const user = users.items.find(sameId(userId));
    if (user) users.replace(sameId(userId), { ...user, sessions: Math.max(0, user.sessions - 1) });
  });
}

export function removeRoom(rooms: PagedList<AdminRoom>, room: AdminRoom): Promise<boolean> {
  return attempt(async () => {
    await adminApi.removeRoom(room.id);
    await rooms.load();
  });
}

/** Saves the changed settings; the server's answer (what now holds) or null. */
export async function saveSettings(patch: SettingsPatch): Promise<AdminSettings | null> {
  try {
    return (await adminApi.saveSettings(patch)).settings;
  } catch (e) {
    handleError(e);
    return null;
  }
}
