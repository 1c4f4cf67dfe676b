/** `npm start`: the production server (SvelteKit build + API + /collab on one port). */
import { loadConfig } from './config.ts';
import { createApp, loadSvelteKitHandler } from './index.ts';

const config = loadConfig();
const app = await createApp(config, { appHandler: await loadSvelteKitHandler() });
const port = await app.listen();
app.services.log.info({ port, dataDir: config.dataDir, tls: app.scheme === 'https', redirectPort: app.redirectPort }, `messenger listening on ${app.scheme}://localhost:${port}`);
if (config.httpRedirectPort !== null && app.redirectPort === null) app.services.log.warn('HTTP_REDIRECT_PORT is set but the server has no certificate: no redirect port');
// for tests and supervisors that start us on port 0
if (process.send) process.send({ port });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    app.services.log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  });
}
