/** Account actions: log in, register, log out. The server sets and clears the session cookie. */
import { goto } from '$app/navigation';
import { api } from '$lib/api/client.ts';
import { errorCode } from '$lib/errors/handle-error.ts';
import { notices } from '$lib/state/notices.svelte.ts';
import type { Session } from '$lib/state/session.svelte.ts';

/** Returns the error code for the form to show next to its field (null: signed in). */
export async function login(session: Session, username: string, password: string): Promise<string | null> {
  try {
    const { user } = await api.login(username, password);
    notices.clear();
    session.begin(user);
    await goto('/');
    return null;
  } catch (e) {
    return errorCode(e);
  }
}

export async function register(session: Session, username: string, password: string, displayName: string, invite?: string): Promise<string | null> {
  try {
    const { user } = await api.register(username, password, displayName.trim() || undefined, invite);
    notices.clear();
    session.begin(user);
    await goto('/');
    return null;
  } catch (e) {
    return errorCode(e);
  }
}

/**
 * Other tabs are told first and documents close before the server session ends, so nothing is
 * sent under a session that is ending; then the user's local data is deleted (see Session).
 */
export async function logout(session: Session): Promise<void> {
  await session.terminate({ serverLogout: true });
  await goto('/login');
}
