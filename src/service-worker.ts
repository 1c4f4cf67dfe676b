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
 *   touched: they always go to the network. One exception: image thumbnails.
 * - thumbnails (`/api/files/<id>/thumb`): network first, a copy kept in `msgr-thumbs` (the newest
 *   THUMBS_MAX), answered from there only when the network fails, so pictures already seen still show
 *   offline. A 4xx (deleted, no longer visible) drops the copy. Not a `msgr-shell-*` cache: logout's
 *   wipe (src/lib/local/wipe.ts) deletes it with the rest of the user's data.
 * - profile photos (`/api/users/<id>/avatar?v=<avatarAt>`): cache first, in `msgr-avatars` (the newest
 *   AVATARS_MAX). The URL is versioned (a new photo is a new `v`), so a kept copy is never stale:
 *   the network is asked only for a version not seen yet, and keeping it drops that user's older
 *   versions. A request without `v` is not kept. Deleted at logout with the thumbnails.
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
const THUMBS = 'msgr-thumbs';
const THUMB_PATH = /^\/api\/files\/[A-Za-z0-9_-]+\/thumb$/;
const THUMBS_MAX = 500;
const AVATARS = 'msgr-avatars';
const AVATAR_PATH = /^\/api\/users\/[A-Za-z0-9_-]+\/avatar$/;
const AVATAR_VERSION = /^\?v=[0-9]{1,16}$/;
const AVATARS_MAX = 300;

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
  if (url.origin !== sw.location.origin) return;
  if (THUMB_PATH.test(url.pathname) && !url.search) {
    event.respondWith(thumbnail(request));
    return;
  }
  if (AVATAR_PATH.test(url.pathname) && AVATAR_VERSION.test(url.search)) {
    event.respondWith(avatar(request, url.pathname));
    return;
  }
  if (NETWORK_ONLY.test(url.pathname)) return;

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

/** A thumbnail: the network's answer (kept), or the kept copy when the network cannot answer. */
async function thumbnail(request: Request): Promise<Response> {
  const cache = await caches.open(THUMBS);
  let response: Response;
  try {
    response = await fetch(request);
  } catch (e) {
    const hit = await cache.match(request);
    if (hit) return hit;
    throw e;
  }
  if (response.ok) {
    await cache.put(request, response.clone());
    void trimThumbs(cache);
  } else if (response.status >= 400 && response.status < 500) {
    await cache.delete(request);
  }
  return response;
}

/** Keeps the newest THUMBS_MAX (a put moves an entry to the end of `keys()`). */
async function trimThumbs(cache: Cache): Promise<void> {
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - THUMBS_MAX))) await cache.delete(key);
}

/** A profile photo by its versioned URL: the kept copy, or the network's answer (kept when it is a photo). */
async function avatar(request: Request, path: string): Promise<Response> {
  const cache = await caches.open(AVATARS);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.headers.get('content-type') === 'image/webp') {
    // the user's older versions are of no use any more: one copy per person
    for (const key of await cache.keys()) if (new URL(key.url).pathname === path && key.url !== request.url) await cache.delete(key);
    await cache.put(request, response.clone());
    void trimAvatars(cache);
  }
  return response;
}

/** Keeps the newest AVATARS_MAX (first kept, first dropped; a dropped one is fetched again once). */
async function trimAvatars(cache: Cache): Promise<void> {
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - AVATARS_MAX))) await cache.delete(key);
}
