/**
 * HTTPS on a closed network: `npm run cert` makes a local CA and a server certificate with the
 * right SANs, the server picks it up from DATA_DIR/tls, `/ca.crt` serves the CA as DER, the
 * certificate chains to it (and to nothing else), WSS works on the same port, the session cookie
 * is Secure, and the plain-HTTP port redirects to HTTPS while still serving `/ca.crt`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { ensureCa, issueServerCert, tlsPaths, MAX_SERVER_DAYS } from '../../server/tls/local-ca.ts';
import * as x509 from '@peculiar/x509';
import { startServer, type TestServer } from '../helpers/server.ts';
import { openDoc } from '../helpers/collab.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request over HTTP or HTTPS (`ca`: the only anchor trusted). */
function request(url: string, opts: { method?: string; ca?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, { method: opts.method ?? 'GET', headers: opts.headers, ...(u.protocol === 'https:' ? { ca: opts.ca ?? [], agent: false } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The TLS handshake alone: whether the chain verifies against `ca`, and the leaf presented. */
function handshake(port: number, ca: string[], servername = 'localhost'): Promise<{ authorized: boolean; error: string | null; cert: tls.DetailedPeerCertificate }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername, rejectUnauthorized: false }, () => {
      const result = { authorized: socket.authorized, error: socket.authorizationError ? String(socket.authorizationError) : null, cert: socket.getPeerCertificate(true) };
      socket.end();
      resolve(result);
    });
    socket.on('error', reject);
  });
}

describe('npm run cert: the local CA and the server certificate', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-cert-'));
  const paths = tlsPaths(dataDir);
  const run = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'scripts/cert.ts', ...args], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8' });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('creates the CA once and a server certificate with every --host and --ip, localhost and loopback', async () => {
    const out = run('--host', 'messenger.corp', '--ip', '10.0.0.5', '--host', 'chat.corp', '--ip', '10.0.0.6');
    expect(out).toContain('created the local CA');
    const cert = new x509.X509Certificate(fs.readFileSync(paths.serverCert, 'utf8'));
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.names.toJSON()).toEqual([
      { type: 'dns', value: 'localhost' }, { type: 'dns', value: 'messenger.corp' }, { type: 'dns', value: 'chat.corp' },
      { type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' }, { type: 'ip', value: '10.0.0.5' }, { type: 'ip', value: '10.0.0.6' },
    ]);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
    expect(cert.getExtension(x509.BasicConstraintsExtension)!.ca).toBe(false);
    const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000;
    expect(days).toBeLessThanOrEqual(MAX_SERVER_DAYS);
    expect(days).toBeGreaterThan(MAX_SERVER_DAYS - 1);

    const ca = new x509.X509Certificate(fs.readFileSync(paths.caCert, 'utf8'));
    expect(ca.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: true, critical: true });
    expect(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
    expect(cert.issuer).toBe(ca.subject);
  });

  it('keeps the private keys private: 0600 files in a 0700 directory', () => {
    expect(fs.statSync(paths.dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(paths.caKey).mode & 0o777).toBe(0o600);
    expect(fs.statSync(paths.serverKey).mode & 0o777).toBe(0o600);
  });

  it('rotates the server certificate on a second run and keeps the CA', () => {
    const caBefore = fs.readFileSync(paths.caCert, 'utf8');
    const caKeyBefore = fs.readFileSync(paths.caKey, 'utf8');
    const leafBefore = new x509.X509Certificate(fs.readFileSync(paths.serverCert, 'utf8'));
    const out = run('--host', 'messenger.corp');
    expect(out).toContain('reused the local CA');
    expect(fs.readFileSync(paths.caCert, 'utf8')).toBe(caBefore);
    expect(fs.readFileSync(paths.caKey, 'utf8')).toBe(caKeyBefore);
    const leaf = new x509.X509Certificate(fs.readFileSync(paths.serverCert, 'utf8'));
    expect(leaf.serialNumber).not.toBe(leafBefore.serialNumber);
    expect(Buffer.from(leaf.publicKey.rawData).toString('hex')).not.toBe(Buffer.from(leafBefore.publicKey.rawData).toString('hex'));
  });

  it('refuses names and addresses that are not', () => {
    expect(() => run('--ip', 'not-an-ip')).toThrow();
    expect(() => run('--host', 'bad host')).toThrow();
    expect(() => run('--host', 'a.corp', '--days', '800')).toThrow();
  });
});

describe('the server over HTTPS with the local CA', () => {
  let server: TestServer;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-https-'));
  const paths = tlsPaths(dataDir);
  let caPem: string;
  let port: number;

  beforeAll(async () => {
    const ca = await ensureCa(paths);
    await issueServerCert(paths, ca, { hosts: ['messenger.corp'], ips: ['10.0.0.5'] });
    caPem = fs.readFileSync(paths.caCert, 'utf8');
    // no TLS_CERT: the server finds DATA_DIR/tls/server.crt by itself
    server = await startServer({ dataDir, httpRedirectPort: 0 });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves HTTPS on its port, with a chain that verifies against the CA only', async () => {
    expect(server.url).toMatch(/^https:/);
    const trusted = await handshake(port, [caPem]);
    expect(trusted).toMatchObject({ authorized: true, error: null });
    expect(trusted.cert.subjectaltname).toContain('DNS:messenger.corp');
    expect(trusted.cert.subjectaltname).toContain('IP Address:10.0.0.5');
    expect(trusted.cert.ext_key_usage).toEqual(['1.3.6.1.5.5.7.3.1']);
    // control: without the CA nothing vouches for it
    const untrusted = await handshake(port, []);
    expect(untrusted.authorized).toBe(false);
    expect(untrusted.error).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i);
        const health = await request(`${server.url}/healthz`, { ca: caPem });
    expect(health.status).toBe(200);
    // and names are checked: one not in the SANs fails even with the CA
    expect(tls.checkServerIdentity('messenger.corp', trusted.cert)).toBeUndefined();
    expect(tls.checkServerIdentity('10.0.0.5', trusted.cert)).toBeUndefined();
    expect(tls.checkServerIdentity('other.corp', trusted.cert)).toBeInstanceOf(Error);
  });

  it('GET /ca.crt is the CA certificate as DER, the same as DATA_DIR/tls/ca.crt', async () => {
    const res = await request(`${server.url}/ca.crt`, { ca: caPem });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-x509-ca-cert');
    expect(res.headers['content-disposition']).toContain('.crt');
    const served = new x509.X509Certificate(new Uint8Array(res.body));
    const onDisk = new x509.X509Certificate(caPem);
    expect(served.equal(onDisk)).toBe(true);
    expect(res.body[0]).toBe(0x30); // DER SEQUENCE, not PEM text
    // the private key is served by nothing
    for (const p of ['/ca.key', '/tls/ca.key', '/data/tls/ca.key', '/ca.crt/../ca.key']) {
      const r = await request(`${server.url}${p}`, { ca: caPem });
      expect(r.body.toString()).not.toContain('PRIVATE KEY');
    }
  });

  it('marks the session cookie Secure under HTTPS', async () => {
    const res = await request(`${server.url}/api/register`, {
      method: 'POST', ca: caPem, headers: { 'content-type': 'application/json', origin: server.url },
      body: JSON.stringify({ username: 'secure_cookie', password: 'password123' }),
    });
    expect(res.status).toBe(201);
    expect(String(res.headers['set-cookie'])).toMatch(/; Secure/);
    expect(String(res.headers['set-cookie'])).toMatch(/HttpOnly/);
  });

  it('speaks WSS on the same port: a real provider syncs a document', async () => {
    const res = await request(`${server.url}/api/register`, {
      method: 'POST', ca: caPem, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'wss_user', password: 'password123' }),
    });
    const { user, token } = JSON.parse(res.body.toString()) as { user: { id: string }; token: string };
    const WithCa = class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca: caPem });
      }
    };
    const socket = new HocuspocusProviderWebsocket({ url: server.wsUrl, WebSocketPolyfill: WithCa, delay: 100, minDelay: 50, maxDelay: 1000 } as never);
    try {
      expect(server.wsUrl).toMatch(/^wss:/);
      const open = await openDoc(socket, `user:${user.id}`, token);
      expect(open.denied).toEqual([]);
      expect(open.provider.isSynced).toBe(true);
      open.provider.destroy();
    } finally {
      socket.destroy();
    }
  });

  it('the redirect port answers 308 to the same host and path on HTTPS', async () => {
    const rp = server.app.redirectPort!;
    expect(rp).toBeGreaterThan(0);
    const get = await request(`http://127.0.0.1:${rp}/rooms/abc?x=1&y=%ED%95%9C`, { headers: { host: `messenger.corp:${rp}` } });
    expect(get.status).toBe(308);
    expect(get.headers.location).toBe(`https://messenger.corp:${port}/rooms/abc?x=1&y=%ED%95%9C`);
    const post = await request(`http://127.0.0.1:${rp}/api/login`, { method: 'POST', headers: { host: '10.0.0.5', 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(308);
    expect(post.headers.location).toBe(`https://10.0.0.5:${port}/api/login`);
    // the API itself is not reachable in plain text
    expect(post.body.toString()).not.toContain('error');
    const bad = await request(`http://127.0.0.1:${rp}/`, { headers: { host: 'evil.corp/x@y' } });
    expect(bad.status).toBe(400);
  });

  it('the redirect port still serves /ca.crt, so a phone can fetch the CA before trusting it', async () => {
    const res = await request(`http://127.0.0.1:${server.app.redirectPort}/ca.crt`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-x509-ca-cert');
    expect(new x509.X509Certificate(new Uint8Array(res.body)).equal(new x509.X509Certificate(caPem))).toBe(true);
  });
});

describe('a server without a local CA', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ httpRedirectPort: 0 });
  });
  afterAll(() => server?.close());

  it('speaks plain HTTP, opens no redirect port and answers /ca.crt with 404 JSON', async () => {
    expect(server.url).toMatch(/^http:/);
    expect(server.app.redirectPort).toBeNull();
    const res = await request(`${server.url}/ca.crt`);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: { code: 'not-found' } });
  });
});
