/**
 * `npm run backup [-- --out <dir>] [--data-dir <dir>]`: a consistent online backup of DATA_DIR
 * (database, uploads, manifest with checksums), safe while the server runs and takes writes.
 * Default output: `$BACKUP_DIR/messenger-<time>` (or `./backups/messenger-<time>`). Exit 1 on failure.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../server/config.ts';
import { createBackup, formatBytes, stamp } from '../server/ops/backup.ts';

function fail(message: string, code = 1): never {
  console.error(`[backup] ${message}`);
  process.exit(code);
}

let args;
try {
  args = parseArgs({ options: { out: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values;
} catch (err) {
  fail(`${(err as Error).message}\nusage: npm run backup [-- --out <dir>] [--data-dir <dir>]`, 2);
}
if (args.help) {
  console.log('usage: npm run backup [-- --out <dir>] [--data-dir <dir>]');
  process.exit(0);
}
let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  fail(`configuration: ${(err as Error).message}`, 2);
}
const dataDir = args['data-dir'] ? path.resolve(args['data-dir']) : config.dataDir;
const out = args.out ? path.resolve(args.out) : path.join(config.backupDir ?? path.resolve('backups'), `messenger-${stamp()}`);
try {
  const { manifest } = await createBackup({ dataDir, out });
  const c = manifest.counts;
  console.log(`[backup] ${out}`);
  console.log(`[backup] ${c.messages} messages, ${c.documents} documents, ${c.files} files (${c.uploads} upload files), ${formatBytes(manifest.bytes)} in ${manifest.durationMs} ms`);
} catch (err) {
  fail(`failed: ${(err as Error).message}`);
}
