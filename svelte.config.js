import crypto from 'node:crypto';
import fs from 'node:fs';
import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * The inline scripts of src/app.html (the pre-paint theme/language script), as CSP hashes. SvelteKit
 * hashes the scripts it generates itself but not the template's own; hashing them here keeps the CSP
 * free of 'unsafe-inline' and follows any edit of the template at the next build.
 */
function templateScriptHashes() {
  const html = fs.readFileSync(new URL('./src/app.html', import.meta.url), 'utf8');
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `sha256-${crypto.createHash('sha256').update(m[1]).digest('base64')}`);
}

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // the Node server in server/ mounts build/handler.js next to /api and /collab
    adapter: adapter({ out: 'build' }),
    // absolute asset URLs: the service worker answers every route with the one cached shell ("/"),
    // whose relative URLs ("./_app/…") would break under /rooms/<id>
    paths: { relative: false },
    // The Content-Security-Policy of every HTML page (the other responses get a stricter fallback from
    // server/http/security-headers.ts). 'hash', not 'nonce': the service worker caches the shell with
    // its headers and replays it offline, so its policy must not depend on a per-response nonce.
    // Styles keep 'unsafe-inline' (Svelte sets style attributes); scripts never run inline unhashed.
    // connect-src 'self' also covers ws:/wss: of the same host (CSP Level 3; Chromium, Firefox, Safari 15.4+).
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self', ...templateScriptHashes()],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'blob:', 'data:'],
        'media-src': ['self', 'blob:'],
        'font-src': ['self', 'data:'],
        'connect-src': ['self'],
        'worker-src': ['self'],
        'manifest-src': ['self'],
        'frame-src': ['none'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
        'frame-ancestors': ['none'],
      },
    },
    typescript: { config: (c) => ({ ...c, compilerOptions: { ...c.compilerOptions, allowImportingTsExtensions: true } }) },
  },
};
