/**
 * `npm run cert -- --host messenger.corp --ip 10.0.0.5 [--host …] [--ip …] [--days 397]`
 *
 * Creates the local CA in DATA_DIR/tls (once; later runs reuse it) and issues a fresh server
 * certificate for the given names and addresses (`localhost`, 127.0.0.1 and ::1 are always in it).
 * Re-running rotates the server certificate and keeps the CA, so devices that installed the CA keep
 * trusting the server. The server picks the new certificate up on its next start.
 */
import { loadConfig } from '../server/config.ts';
import { ensureCa, issueServerCert, spkiHash, tlsPaths, MAX_SERVER_DAYS } from '../server/tls/local-ca.ts';

const hosts: string[] = [];
const ips: string[] = [];
let days = MAX_SERVER_DAYS;
let caName: string | undefined;
const argv = process.argv.slice(2);
const die = (msg: string): never => {
  console.error(`[cert] ${msg}`);
  console.error('usage: npm run cert -- --host <dns name> [--host …] --ip <address> [--ip …] [--days 1..397] [--ca-name <name>]');
  process.exit(2);
};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => argv[++i] ?? die(`${a} needs a value`);
  if (a === '--host') hosts.push(...value().split(',').filter(Boolean));
  else if (a === '--ip') ips.push(...value().split(',').filter(Boolean));
  else if (a === '--days') days = Number(value());
  else if (a === '--ca-name') caName = value();
  else if (a === '--help' || a === '-h') die('help');
  else die(`unknown argument ${a}`);
}

const config = loadConfig(process.env, { logLevel: 'silent' });
const paths = tlsPaths(config.dataDir);
try {
  const ca = await ensureCa(paths, { name: caName });
  const cert = await issueServerCert(paths, ca, { hosts, ips, days });
  const pem = cert.toString('pem');
  console.log(ca.created ? `[cert] created the local CA: ${paths.caCert} (key ${paths.caKey}, keep it private)` : `[cert] reused the local CA: ${paths.caCert}`);
  console.log(`[cert] server certificate: ${paths.serverCert} (key ${paths.serverKey})`);
  console.log(`[cert]   names: ${cert.getExtension('2.5.29.17')?.toString('text').replace(/\s+/g, ' ').trim()}`);
  console.log(`[cert]   valid until ${cert.notAfter.toISOString()}`);
  console.log(`[cert]   SPKI sha256: ${await spkiHash(pem)}`);
  console.log('[cert] restart the server to use it; devices install the CA from /ca.crt (see docs/RUNBOOK.md, "TLS")');
} catch (e) {
  die(e instanceof Error ? e.message : String(e));
}
