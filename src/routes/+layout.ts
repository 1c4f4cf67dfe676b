// The app is local-first: it renders in the browser from its local copy, never on the server.
export const ssr = false;
export const prerender = false;
