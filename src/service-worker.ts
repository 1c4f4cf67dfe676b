/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * The app shell, offline. SvelteKit builds this file and registers it (production builds).
 *
 * - install: precache every built asset (`build`), every file of static/ (`files`) and the shell
 *   HTML at "/" under `msgr-shell-<version>`; the new worker takes over at once.
 * - activate: delete older `msgr-shell-*` caches (other caches belong to others: logout clears
 *   everything that is not the shell), then control the open pages.
 * - fetch: precached assets from the cache; navigations network-first with a short timeout, falling
 *   back to the cached shell (the app has `ssr = false`, so every route renders from that one page).
 *   `/api/*`, `/collab`, `/auth/*` (OIDC redirects), `/healthz`, `/metrics` and other origins are never
 *   touched: they always go to the network.
 */
import { build, files, version } from '$service-worker';

const sw = self as unknown as ServiceWorkerGlobalScope;

const PREFIX = 'msgr-shell-';
const CACHE = `${PREFIX}${version}`;
const SHELL = '/';
/** A navigation that takes longer than this on a flaky network is served from the cache. */
const NAVIGATION_TIMEOUT_MS = 3000;

const ASSETS = new Set([...build, ...files]);
/** Paths that are data, sockets or server-side flows, never the app shell. */
const NETWORK_ONLY = /^\/(api|collab|auth|healthz|metrics)(\/|$)/;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `cache: 'reload'` skips the HTTP cache: the shell and assets must be this version's
      await cache.addAll([...ASSETS, SHELL].map((url) => new Request(url, { cache: 'reload' })));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
      }
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin || NETWORK_ONLY.test(url.pathname)) return;

  if (request.mode === 'navigate') {
    event.respondWith(navigate(request));
  } else if (ASSETS.has(url.pathname)) {
    event.respondWith(fromCache(request));
  }
});

/** Hashed assets never change under one name: the cache answers, the network only fills gaps. */
async function fromCache(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) void cache.put(request, response.clone());
  return response;
}

/**
 * Network first, so that an online user gets the current deployment; the cached shell when the
 * network fails, answers with a server error, or is slower than the timeout.
 */
async function navigate(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const network = fetch(request).then(async (response) => {
    if (response.status >= 500) throw new Error(`server answered ${response.status}`);
    if (response.ok && new URL(request.url).pathname === SHELL) await cache.put(SHELL, response.clone());
    return response;
  });
  network.catch(() => {}); // a late failure after the timeout answered is nobody's business
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), NAVIGATION_TIMEOUT_MS));
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
  } catch {
    // offline or server down: the shell below
  }
  const shell = await cache.match(SHELL);
  if (shell) return shell;
  return network; // nothing cached yet (first visit): whatever the network says, errors included
}
