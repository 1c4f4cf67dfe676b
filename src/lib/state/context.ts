/** The session object is created once by the root layout and read by components through context. */
import { getContext, setContext } from 'svelte';
import type { Session } from './session.svelte.ts';

const KEY = Symbol('session');

export const setSession = (s: Session) => setContext(KEY, s);
export const getSession = () => getContext<Session>(KEY);
