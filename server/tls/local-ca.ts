/**
 * A local certificate authority for a closed network (`npm run cert`): no public CA can certify
 * `messenger.corp` or `10.0.0.5`, so the server makes its own. The CA is created once and reused;
 * each run issues a fresh server certificate (rotation) signed by it. Devices install the CA
 * certificate once (served at `/ca.crt`) and then trust every server certificate it issues.
 *
 * Files in `DATA_DIR/tls/` (the directory is 0700, keys are 0600):
 *   ca.key      the CA's private key: never leaves this directory, never served
 *   ca.crt      the CA certificate (PEM), what devices install
 *   server.key  the server's private key
 *   server.crt  the server certificate (PEM)
 *
 * Keys are ECDSA P-256 with SHA-256 signatures (accepted by Windows, macOS, iOS, Android and every
 * current browser). The server certificate has DNS and IP SANs (browsers ignore the CN), the
 * serverAuth EKU and at most 397 days of validity (what iOS and Chrome accept for a TLS leaf).
 */
import fs from 'node:fs';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import net from 'node:net';
import './reflect-metadata.ts';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 24 * 60 * 60 * 1000;
/** Longest server certificate validity iOS and Chrome accept (398 days, minus a margin). */
export const MAX_SERVER_DAYS = 397;
const CA_DAYS = 10 * 365;

export interface TlsPaths {
  dir: string;
  caKey: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
}

export function tlsPaths(dataDir: string): TlsPaths {
  const dir = path.join(dataDir, 'tls');
  return { dir, caKey: path.join(dir, 'ca.key'), caCert: path.join(dir, 'ca.crt'), serverKey: path.join(dir, 'server.key'), serverCert: path.join(dir, 'server.crt') };
}

const toPem = (der: ArrayBuffer, label: string) => x509.PemConverter.encode(der, label);

/** Writes a file atomically (temp + rename) with the given mode, so a reader never sees half a key. */
function writeFile(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

async function exportKey(key: CryptoKey): Promise<string> {
  return toPem(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), ALG, false, ['sign']);
}

const randomSerial = () => {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  bytes[0] &= 0x7f; // a positive INTEGER
  return Buffer.from(bytes).toString('hex');
};

export interface LocalCa {
  cert: x509.X509Certificate;
  key: CryptoKey;
  created: boolean;
}

/** Loads the CA from `paths`, or creates it when there is none. */
export async function ensureCa(paths: TlsPaths, opts: { name?: string; now?: Date } = {}): Promise<LocalCa> {
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(paths.dir, 0o700);
  if (fs.existsSync(paths.caKey) && fs.existsSync(paths.caCert)) {
    return { cert: new x509.X509Certificate(fs.readFileSync(paths.caCert, 'utf8')), key: await importKey(fs.readFileSync(paths.caKey, 'utf8')), created: false };
  }
  const now = opts.now ?? new Date();
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${escapeDn(opts.name ?? 'Messenger local CA')}, O=Messenger`,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY),
    keys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // the key first: a CA certificate without its key would be reused and could sign nothing
  writeFile(paths.caKey, await exportKey(keys.privateKey), 0o600);
  writeFile(paths.caCert, cert.toString('pem') + '\n', 0o644);
  return { cert, key: keys.privateKey, created: true };
}

const escapeDn = (s: string) => s.replace(/([,+"\\<>;=])/g, '\\$1');

export interface IssueOptions {
  hosts: string[];
  ips: string[];
  days?: number;
  now?: Date;
}

/**
 * Issues a server certificate for `hosts` (DNS SANs; `localhost` always included) and `ips` (IP
 * SANs; 127.0.0.1 and ::1 always included), replacing server.key/server.crt.
 */
export async function issueServerCert(paths: TlsPaths, ca: LocalCa, opts: IssueOptions): Promise<x509.X509Certificate> {
  const days = opts.days ?? MAX_SERVER_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_SERVER_DAYS) throw new Error(`--days must be 1..${MAX_SERVER_DAYS}`);
  const hosts = unique(['localhost', ...opts.hosts.map((h) => h.trim().toLowerCase().replace(/\.$/, ''))]);
  for (const h of hosts) if (!isDnsName(h)) throw new Error(`not a DNS name: ${h}`);
  const ips = unique(['127.0.0.1', '::1', ...opts.ips.map((ip) => ip.trim())]);
  for (const ip of ips) if (!net.isIP(ip)) throw new Error(`not an IP address: ${ip}`);
  const now = opts.now ?? new Date();
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${escapeDn(opts.hosts[0] ?? hosts[0])}`,
    issuer: ca.cert.subject,
    // backdated an hour for clocks that lag a little
    notBefore: new Date(now.getTime() - 60 * 60 * 1000),
    notAfter: new Date(now.getTime() + days * DAY - 60 * 60 * 1000),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...hosts.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  writeFile(paths.serverKey, await exportKey(keys.privateKey), 0o600);
  writeFile(paths.serverCert, cert.toString('pem') + '\n', 0o644);
  return cert;
}

const unique = (xs: string[]) => [...new Set(xs.filter(Boolean))];
const isDnsName = (h: string) => h.length <= 253 && /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(h);

/** base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate: Chromium's `--ignore-certificate-errors-spki-list` and HPKP format. */
export async function spkiHash(pem: string): Promise<string> {
  const cert = new x509.X509Certificate(pem);
  const digest = await crypto.subtle.digest('SHA-256', cert.publicKey.rawData);
  return Buffer.from(digest).toString('base64');
}

/** The CA certificate as DER (what `/ca.crt` serves), or null when there is none. */
export function caCertDer(file: string): Buffer | null {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch {
    return null;
  }
  // a PEM file (ours, or a company CA given as TLS_CA) or already DER
  const text = raw.toString('latin1');
  return text.includes('-----BEGIN') ? Buffer.from(x509.PemConverter.decodeFirst(text)) : raw;
}
