import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // the Node server in server/ mounts build/handler.js next to /api and /collab
    adapter: adapter({ out: 'build' }),
    // absolute asset URLs: the service worker answers every route with the one cached shell ("/"),
    // whose relative URLs ("./_app/…") would break under /rooms/<id>
    paths: { relative: false },
    typescript: { config: (c) => ({ ...c, compilerOptions: { ...c.compilerOptions, allowImportingTsExtensions: true } }) },
  },
};
