/**
 * `npm run verify-backup <backup>`: checks a backup without changing it: the manifest, every
 * checksum, `PRAGMA integrity_check`, the tables and migration ids, and that every stored Yjs
 * document loads. Exit 0 when it can be restored, 1 (with the reasons) when not, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { formatReport, verifyBackup } from '../server/ops/backup.ts';

let positionals: string[];
try {
  positionals = parseArgs({ allowPositionals: true, options: {} }).positionals;
} catch (err) {
  console.error(`[verify-backup] ${(err as Error).message}`);
  process.exit(2);
}
if (positionals.length !== 1) {
  console.error('usage: npm run verify-backup <backup directory>');
  process.exit(2);
}
const report = await verifyBackup(positionals[0]);
(report.ok ? console.log : console.error)(formatReport(report));
process.exit(report.ok ? 0 : 1);
