/**
 * `npm run restore -- --yes <backup> [--data-dir <dir>] [--safety-dir <dir>]`: replaces the database
 * and uploads of DATA_DIR with a backup. Refuses without `--yes`, while a server runs on the data
 * directory (DATA_DIR/server.lock of a live process), and when the backup does not verify. The
 * current data is kept in `<DATA_DIR>.before-restore-<time>` (or `--safety-dir`).
 * Exit codes: 0 restored, 1 failed, 2 bad usage or no --yes, 3 a server is running, 4 bad backup.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../server/config.ts';
import { liveLock, lockMessage, restoreBackup, RestoreRefused } from '../server/ops/backup.ts';

const USAGE = 'usage: npm run restore -- --yes <backup directory> [--data-dir <dir>] [--safety-dir <dir>]';
function fail(message: string, code: number): never {
  console.error(`[restore] ${message}`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { yes: { type: 'boolean' }, 'data-dir': { type: 'string' }, 'safety-dir': { type: 'string' } } });
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`, 2);
}
const { values, positionals } = parsed;
if (positionals.length !== 1) fail(USAGE, 2);
let dataDir: string;
try {
  dataDir = values['data-dir'] ? path.resolve(values['data-dir']) : loadConfig(process.env).dataDir;
} catch (err) {
  fail(`configuration: ${(err as Error).message}`, 2);
}
const backup = path.resolve(positionals[0]);
if (!values.yes) fail(`refusing without --yes: this replaces the database and uploads in ${dataDir} with ${backup} (the current data is kept beside it).\n${USAGE}`, 2);
const lock = liveLock(dataDir);
if (lock) fail(`refusing: ${lockMessage(dataDir, lock)}`, 3);

try {
  const r = await restoreBackup({ backup, dataDir, safetyDir: values['safety-dir'], log: (line) => console.log(`[restore] ${line}`) });
  console.log(`[restore] restored ${backup} into ${dataDir}`);
  console.log(r.safetyDir ? `[restore] the previous data is in ${r.safetyDir} (remove it once the server runs well)` : '[restore] there was no previous data');
} catch (err) {
  if (err instanceof RestoreRefused) fail(`refusing: ${err.message}`, err.reason === 'running' ? 3 : 4);
  fail(`failed: ${(err as Error).message}`, 1);
}
