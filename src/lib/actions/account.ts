/**
 * Settings actions: room preferences (pin, mute), password, sessions, account deletion, photo.
 * Form actions return the error code (or null) so the form can show it next to its field; the
 * one-tap ones go through the error funnel.
 */
import { goto } from '$app/navigation';
import { accountApi } from '$lib/api/account.ts';
import type { User } from '$lib/api/types.ts';
import { errorCode, handleError } from '$lib/errors/handle-error.ts';
import type { Session } from '$lib/state/session.svelte.ts';

export async function setRoomPrefs(roomId: string, prefs: { pinned?: boolean; muted?: boolean }): Promise<boolean> {
  try {
    await accountApi.setPrefs(roomId, prefs);
    return true;
  } catch (e) {
    handleError(e);
    return false;
  }
}

/** The server ends every other session of the user on a password change. */
export async function changePassword(current: string, next: string): Promise<string | null> {
  try {
    await accountApi.changePassword(current, next);
    return null;
  } catch (e) {
    if (errorCode(e) !== 'invalid-credentials' && errorCode(e) !== 'weak-password') handleError(e);
    return errorCode(e);
  }
}

/** Ends the given sessions of mine (never the current one: that is "log out"). */
export async function revokeSessions(ids: string[]): Promise<boolean> {
  try {
    for (const id of ids) await accountApi.revokeSession(id);
    return true;
  } catch (e) {
    handleError(e);
    return false;
  }
}

export async function deleteAccount(session: Session, password: string): Promise<string | null> {
  try {
    await accountApi.deleteAccount(password);
  } catch (e) {
    if (errorCode(e) !== 'invalid-credentials') handleError(e);
    return errorCode(e);
  }
  // the server already ended the session; this deletes the local data and leaves
  await session.terminate({ serverLogout: false });
  await goto('/login');
  return null;
}

/** Back to initials; null on success, else the error code (shown next to the photo). */
export async function removeAvatar(): Promise<string | null> {
  try {
    await accountApi.removeAvatar();
    return null;
  } catch (e) {
    return errorCode(e);
  }
}

export async function uploadAvatar(file: File): Promise<User | string> {
  try {
    return (await accountApi.uploadAvatar(file)).user;
  } catch (e) {
    return errorCode(e);
  }
}
