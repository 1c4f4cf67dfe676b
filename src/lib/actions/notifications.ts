/** Turning desktop notifications on: only ever from a click (browsers refuse or penalise prompts on load). */
import type { Session } from '$lib/state/session.svelte.ts';

export function enableNotifications(session: Session): Promise<void> {
  return session.notifier.request();
}
