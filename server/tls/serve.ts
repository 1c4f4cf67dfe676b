/**
 * Serving HTTPS: which certificate (explicit `TLS_CERT`/`TLS_KEY`, else the local CA's
 * `DATA_DIR/tls/server.crt` when `npm run cert` made one), `GET /ca.crt` (the CA devices install),
 * and the plain-HTTP port that sends browsers to HTTPS (`HTTP_REDIRECT_PORT`).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { Config } from '../config.ts';
import { sendJson } from '../http/router.ts';
import { caCertDer, tlsPaths } from './local-ca.ts';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** Where the certificate came from, for the start-up log line. */
  source: 'env' | 'local-ca';
}

/** The certificate to serve, or null for plain HTTP. A half-configured pair is an error, not a silent downgrade. */
export function resolveTls(config: Config): TlsFiles | null {
  if (config.tlsCert || config.tlsKey) {
    if (!config.tlsCert || !config.tlsKey) throw new Error('TLS_CERT and TLS_KEY go together');
    return { cert: fs.readFileSync(config.tlsCert), key: fs.readFileSync(config.tlsKey), source: 'env' };
  }
  const p = tlsPaths(config.dataDir);
  if (fs.existsSync(p.serverCert) && fs.existsSync(p.serverKey)) {
    return { cert: fs.readFileSync(p.serverCert), key: fs.readFileSync(p.serverKey), source: 'local-ca' };
  }
  return null;
}

/** The CA certificate file `/ca.crt` serves: `TLS_CA`, else the local CA's (when it exists). */
export const caFile = (config: Config) => config.tlsCa ?? tlsPaths(config.dataDir).caCert;

/**
 * `GET /ca.crt`: the CA certificate as DER with `application/x-x509-ca-cert`, the form Android,
 * iOS (as a profile), Windows and macOS open as "install a certificate". 404 without a CA.
 * Read on each request so that a CA made while the server runs is served at once.
 */
export function caCertHandler(config: Config) {
  const file = caFile(config);
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { code: 'method-not-allowed', message: 'Method not allowed.' } }, { allow: 'GET, HEAD' });
    const der = caCertDer(file);
    if (!der) return sendJson(res, 404, { error: { code: 'not-found', message: 'This server has no local certificate authority.' } });
    res.writeHead(200, {
      'content-type': 'application/x-x509-ca-cert',
      'content-length': String(der.length),
      'content-disposition': 'attachment; filename="messenger-ca.crt"',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : der);
  };
}

const HOSTNAME = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})$/;

/**
 * The plain-HTTP listener: `/ca.crt` is answered here too (a phone fetches the CA before it trusts
 * the server), everything else gets a 308 to the same host and path on the HTTPS port (308 keeps
 * the method and body). The host comes from the request: it is the name the client used.
 */
export function redirectServer(caCert: ReturnType<typeof caCertHandler>, httpsPort: () => number): http.Server {
  return http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/ca.crt' || url.startsWith('/ca.crt?')) return caCert(req, res);
    const hostHeader = req.headers.host ?? '';
    const host = hostHeader.replace(/:\d+$/, '');
    if (!HOSTNAME.test(host) || !url.startsWith('/')) return sendJson(res, 400, { error: { code: 'bad-request', message: 'The request is malformed.' } });
    const port = httpsPort();
    const location = `https://${host}${port === 443 ? '' : `:${port}`}${url}`;
    res.writeHead(308, { location, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`Moved to ${location}\n`);
  });
}
