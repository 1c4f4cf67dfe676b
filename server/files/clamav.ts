/**
 * A small client for the ClamAV daemon (clamd), with no dependencies beyond node:net and node:fs.
 * Uploads are scanned by streaming them to clamd; the daemon may run on this machine (a Unix socket)
 * or elsewhere (TCP host and port, clamd's `TCPSocket`/`TCPAddr`).
 *
 * Protocol (clamd(8), "z" commands: the command and the reply each end with a NUL byte, and clamd
 * closes the connection after one reply):
 * - `zPING\0` → `PONG\0`; `zVERSION\0` → `ClamAV 1.4.6[/db version/db date]\0`.
 * - `zINSTREAM\0`, then the file as chunks, each prefixed by its length as 4 bytes big-endian, then a
 *   zero length. Replies: `stream: OK\0` (clean), `stream: <signature> FOUND\0` (infected),
 *   `<message> ERROR\0` (e.g. `INSTREAM size limit exceeded. ERROR` past clamd's StreamMaxLength).
 *
 * The file is read in chunks and written as the socket drains (backpressure), so a large upload is
 * never held in memory whole.
 *
 * What it throws:
 * - `ClamdUnavailable`: clamd could not be reached, did not answer in time, or the connection broke
 *   before a reply. The upload is not known to be clean: keep it quarantined and scan again later.
 * - `ClamdError`: clamd answered with an error (or something we don't understand), or closed the
 *   connection mid-upload while still answering PING (how a size-limit refusal often arrives, see
 *   scanFile): the scan result is `error`, not clean. Retrying the same file will fail the same way.
 * - Errors from reading the file itself (e.g. ENOENT) are passed on as they are.
 * `ping()` and `version()` never throw: they report an unreachable clamd as `false` / `null`.
 */
import fs from 'node:fs';
import net from 'node:net';

export type ClamdTarget = { socket: string } | { host: string; port: number };
export type ScanVerdict = { clean: true } | { clean: false; signature: string };

/** clamd could not be reached or the connection broke: the file stays quarantined, retry later. */
export class ClamdUnavailable extends Error {
  override name = 'ClamdUnavailable';
}
/** clamd answered with an error (e.g. size limit): the scan result is `error`, not clean. */
export class ClamdError extends Error {
  override name = 'ClamdError';
}

export interface Clamd {
  /** Streams the file at `path` with INSTREAM (never reads it whole into memory; honour backpressure). */
  scanFile(path: string): Promise<ScanVerdict>;
  /** False when clamd is unreachable or answers something else than PONG; never throws. */
  ping(): Promise<boolean>;
  /** clamd's version line, or null when it is unreachable; never throws. */
  version(): Promise<string | null>;
}

export interface ClamdOptions {
  /** Deadline for a whole scan, from connecting to the verdict (default 60 s). */
  timeoutMs?: number;
  /** Deadline for the connection to be established (default 2 s). */
  connectTimeoutMs?: number;
  /** Bytes per INSTREAM chunk (default 64 KiB; must stay below clamd's StreamMaxLength). */
  chunkBytes?: number;
}

/** PING and VERSION are answered at once by a healthy clamd: a short deadline keeps health checks quick. */
const COMMAND_TIMEOUT_MS = 5_000;

export function createClamd(target: ClamdTarget, opts: ClamdOptions = {}): Clamd {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 2_000;
  const chunkBytes = opts.chunkBytes ?? 64 * 1024;
  const where = 'socket' in target ? target.socket : `${target.host}:${target.port}`;

  const command = (cmd: string) =>
    exchange(target, where, connectTimeoutMs, Math.min(timeoutMs, COMMAND_TIMEOUT_MS), (socket) => {
      socket.write(`z${cmd}\0`);
    });

  async function ping() {
    try {
      return (await command('PING')) === 'PONG';
    } catch {
      return false;
    }
  }

  return {
    async scanFile(path) {
      // Opened before connecting: a missing file is our error, not clamd's, and costs no connection.
      const file = await fs.promises.open(path, 'r');
      try {
        const reply = await exchange(target, where, connectTimeoutMs, timeoutMs, (socket, finished) =>
          streamFile(socket, file, chunkBytes, finished),
        );
        return parseScanReply(reply);
      } catch (err) {
        // When clamd refuses a stream (StreamMaxLength) it replies and closes at once, without reading
        // the rest. Our next write then fails (EPIPE; ECONNRESET over TCP) and Node closes the socket
        // before it has read the reply: in a test, 1 refusal in 4 looked like this. If clamd still
        // answers PING it was not an outage but a refusal of this file, so the verdict is an error.
        if (err instanceof ClamdUnavailable && isPeerClose(err.cause) && (await ping())) {
          throw new ClamdError(`clamd at ${where} closed the connection during INSTREAM (most likely the file exceeds its StreamMaxLength)`, { cause: err });
        }
        throw err;
      } finally {
        await file.close();
      }
    },
    ping,
    async version() {
      try {
        return await command('VERSION');
      } catch {
        return null;
      }
    },
  };
}

/**
 * One connection, one command: connects, lets `send` write the request, and resolves with the reply
 * up to its NUL. Every way of failing (connect error or timeout, reply timeout, the connection closing
 * before a reply) rejects with ClamdUnavailable and destroys the socket; an error thrown by `send`
 * (reading the file) is passed on as it is.
 */
function exchange(
  target: ClamdTarget,
  where: string,
  connectTimeoutMs: number,
  timeoutMs: number,
  send: (socket: net.Socket, finished: () => boolean) => void | Promise<void>,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = 'socket' in target ? net.connect(target.socket) : net.connect(target.port, target.host);
    let done = false;
    let received = Buffer.alloc(0);
    let timer = setTimeout(() => fail(new ClamdUnavailable(`clamd at ${where}: no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);

    function finish(action: () => void) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      action();
    }
    const fail = (err: Error) => finish(() => reject(err));

    socket.on('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new ClamdUnavailable(`clamd at ${where}: no reply within ${timeoutMs} ms`)), timeoutMs);
      Promise.resolve()
        .then(() => send(socket, () => done))
        .catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf(0);
      if (end >= 0) finish(() => resolve(received.subarray(0, end).toString('utf8').trim()));
    });
    socket.on('error', (err) => fail(new ClamdUnavailable(`clamd at ${where}: ${err.message}`, { cause: err })));
    // clamd closes right after its NUL-terminated reply; a close before the NUL means the daemon went
    // away mid-command (a reply cut short is no verdict).
    socket.on('close', () => fail(new ClamdUnavailable(`clamd at ${where}: connection closed without a complete reply`)));
  });
}

/** Writes `zINSTREAM\0`, the file as length-prefixed chunks, and the zero-length terminator. */
async function streamFile(socket: net.Socket, file: fs.promises.FileHandle, chunkBytes: number, finished: () => boolean) {
  socket.write('zINSTREAM\0');
  // autoClose false: the caller owns the handle and closes it once the verdict is in.
  const chunks = file.createReadStream({ start: 0, highWaterMark: chunkBytes, autoClose: false });
  try {
    for await (const chunk of chunks as AsyncIterable<Buffer>) {
      // clamd may answer early (an error such as the size limit) and close: stop sending then.
      if (finished()) return;
      const length = Buffer.alloc(4);
      length.writeUInt32BE(chunk.length);
      socket.write(length);
      if (!socket.write(chunk)) await drained(socket);
    }
  } finally {
    chunks.destroy();
  }
  if (!finished()) socket.write(Buffer.alloc(4));
}

/** Resolves when the socket can take more data, or when it is gone (the exchange then settles by itself). */
function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** The peer closed while we were sending (not a failure to connect). */
function isPeerClose(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

function parseScanReply(reply: string): ScanVerdict {
  // INSTREAM names the scanned object "stream"; a ClamAV signature never contains a NUL or newline.
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found) return { clean: false, signature: found[1] };
  if (reply === 'stream: OK') return { clean: true };
  if (reply.endsWith('ERROR')) throw new ClamdError(`clamd: ${reply}`);
  throw new ClamdError(`clamd: unexpected reply ${JSON.stringify(reply.slice(0, 200))}`);
}

/**
 * Parses env: AV_SCAN=clamav with CLAMD_SOCKET, or CLAMD_HOST + CLAMD_PORT (default 3310). Returns null
 * when AV_SCAN is unset/'off'; throws a clear Error for a bad combination.
 */
export function clamdTargetFromEnv(env: NodeJS.ProcessEnv): ClamdTarget | null {
  const mode = (env.AV_SCAN ?? '').trim().toLowerCase();
  if (mode === '' || mode === 'off') return null;
  if (mode !== 'clamav') throw new Error(`AV_SCAN must be "clamav" or "off", got "${env.AV_SCAN}"`);
  const socket = env.CLAMD_SOCKET?.trim() || undefined;
  const host = env.CLAMD_HOST?.trim() || undefined;
  const rawPort = env.CLAMD_PORT?.trim() || undefined;
  if (socket && (host || rawPort)) throw new Error('AV_SCAN=clamav: set either CLAMD_SOCKET or CLAMD_HOST (+ CLAMD_PORT), not both');
  if (socket) return { socket };
  if (!host) {
    if (rawPort) throw new Error('AV_SCAN=clamav: CLAMD_PORT needs CLAMD_HOST');
    throw new Error('AV_SCAN=clamav needs CLAMD_SOCKET (a Unix socket path) or CLAMD_HOST (+ CLAMD_PORT, default 3310)');
  }
  const port = rawPort === undefined ? 3310 : Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`CLAMD_PORT must be a port number (1-65535), got "${rawPort}"`);
  return { host, port };
}
