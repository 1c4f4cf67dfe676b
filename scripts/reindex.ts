/**
 * `npm run reindex`: drops the message search index and recreates it from the stored documents
 * (DATA_DIR, default ./data). Run it with the server stopped: the rebuild is one transaction.
 */
import path from 'node:path';
import { openDatabase } from '../server/db/database.ts';
import { loadConfig } from '../server/config.ts';
import { buildServices } from '../server/services.ts';
import pino from 'pino';

const config = loadConfig(process.env);
const db = openDatabase(path.join(config.dataDir, 'messenger.db'), config.sqliteSynchronous);
const services = buildServices(db, config, { log: pino({ level: 'silent' }) });
const t0 = performance.now();
const count = services.search.rebuild();
console.log(`[reindex] ${count} messages indexed in ${Math.round(performance.now() - t0)} ms (${config.dataDir})`);
db.close();
