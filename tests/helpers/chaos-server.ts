/**
 * Child-process entry for tests that SIGKILL the server: the real app (API + /collab, no web app)
 * configured from the environment like `server/main.ts`, but with the test suite's raised auth, API
 * and upgrade limits (every client of a test comes from 127.0.0.1). The message and backlog limits
 * stay the production ones. Tells the parent its port over IPC.
 */
import pino from 'pino';
import { loadConfig } from '../../server/config.ts';
import { createApp } from '../../server/index.ts';
import { TEST_LIMITS } from './server.ts';

const config = loadConfig();
const app = await createApp(config, { log: pino({ level: config.logLevel }), rateLimits: TEST_LIMITS });
const port = await app.listen(config.port, config.host);
process.send?.({ port });
