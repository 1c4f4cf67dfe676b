/**
 * `npm run dev`: the same composition as `npm start` (one port: app, /api, /collab), with Vite's
 * dev middlewares (HMR) in place of the built SvelteKit handler.
 */
import { createServer as createVite, type ViteDevServer } from 'vite';
import { loadConfig } from './config.ts';
import { createApp } from './index.ts';

const config = loadConfig();
let vite: ViteDevServer | null = null;
const app = await createApp(config, {
  passOtherUpgrades: true,
  appHandler: (req, res, next) => (vite ? vite.middlewares(req, res, next) : next()),
});
vite = await createVite({
  server: { middlewareMode: true, hmr: { server: app.server } },
  appType: 'custom',
});
const port = await app.listen();
app.services.log.info({ port }, `dev server on http://localhost:${port}`);
