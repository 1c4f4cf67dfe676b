/**
 * Security headers on every response the server sends: API JSON, files, static assets, the app's
 * HTML, errors, `/healthz`, `/metrics`. Set first thing in the request handler, so a handler can
 * still override one: the app's pages carry SvelteKit's own CSP (svelte.config.js `kit.csp`, see
 * appPolicy), stored files `default-src 'none'; sandbox; frame-ancestors 'none'`; everything else
 * outside the app keeps the strict fallback CSP below, which lets a response load nothing, run
 * nothing and be framed by no one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** The CSP of every response outside the web app (API JSON, files, `/healthz`, `/metrics`, Node's own refusals). */
export const FALLBACK_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The CSP of the service worker's script: a worker runs under the policy of its own script's
 * response, and ours fetches the shell and assets from our origin to cache them.
 */
export const APP_ASSET_CSP = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
export const SERVICE_WORKER_PATH = '/service-worker.js';

/**
 * Powerful features no page of ours uses are off for us and for anything we would embed. The camera
 * stays allowed for our own origin: the composer's camera button is an `<input capture>` (the system
 * camera app), and a future in-page capture should not need a header change.
 */
export const PERMISSIONS_POLICY = [
  'camera=(self)', 'microphone=()', 'geolocation=()', 'payment=()', 'usb=()', 'serial=()', 'hid=()',
  'midi=()', 'display-capture=()', 'screen-wake-lock=()', 'xr-spatial-tracking=()', 'browsing-topics=()',
].join(', ');

/**
 * One year, this host only: no `includeSubDomains` (an intranet domain often hosts plain-HTTP
 * machines we do not own) and no `preload` (closed networks are not in browsers' preload lists).
 */
export const HSTS = 'max-age=31536000';

/** Whether the request reached us over TLS (our own HTTPS listener; no proxy headers are trusted). */
export function isHttps(req: IncomingMessage): boolean {
  return (req.socket as TLSSocket).encrypted === true;
}

export function securityHeaders(res: ServerResponse, opts: { https: boolean }): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('permissions-policy', PERMISSIONS_POLICY);
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  res.setHeader('content-security-policy', FALLBACK_CSP);
  if (opts.https) res.setHeader('strict-transport-security', HSTS);
}

/**
 * Before handing a request to the web app (SvelteKit's handler or Vite's). Its pages carry the policy
 * of svelte.config.js (`kit.csp`), set by SvelteKit, and no fallback may stand in for it: SvelteKit
 * answers a revalidation with a 304 that has no CSP, and a browser (or the service worker's cache)
 * takes the headers of a 304 as updates of the stored page, so a fallback on the 304 would replace
 * the page's policy. The app's other files (scripts, styles, icons) are not documents: no CSP.
 */
export function appPolicy(req: IncomingMessage, res: ServerResponse): void {
  if ((req.url ?? '/').split('?')[0] === SERVICE_WORKER_PATH) res.setHeader('content-security-policy', APP_ASSET_CSP);
  else res.removeHeader('content-security-policy');
}
