/**
 * A real ClamAV daemon for tests. Each `startClamd()` gets its own temp dir (config, socket, log and a
 * one-signature database that detects only the EICAR test file), so several test files can run their
 * own clamd at once. No signatures are downloaded (the network is closed; freshclam never runs), and
 * with one signature clamd starts in a fraction of a second instead of loading ~200 MB of databases.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClamd, type ClamdTarget } from '../../server/files/clamav.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLAMD = '/usr/sbin/clamd';
const START_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 10_000;

/** The 68-byte EICAR test file: harmless, and detected as a virus by design. */
export const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');

/**
 * True when clamd can run here; in CI (process.env.CI) a missing clamd first runs
 * scripts/install-clamav.sh, and if still missing throws; elsewhere returns false after a loud banner.
 */
export function requireClamd(testFile: string): boolean {
  if (fs.existsSync(CLAMD)) return true;
  if (process.env.CI) {
    execFileSync('bash', [path.join(ROOT, 'scripts/install-clamav.sh')], { cwd: ROOT, stdio: 'inherit' });
    if (fs.existsSync(CLAMD)) return true;
    throw new Error(`${CLAMD} is still missing after scripts/install-clamav.sh: CI must be able to install clamav-daemon`);
  }
  console.warn(`\n${'!'.repeat(80)}\n!! ${testFile} NOT RUN: ${CLAMD} is missing.\n!! Install it with: bash scripts/install-clamav.sh\n${'!'.repeat(80)}\n`);
  return false;
}

export interface TestClamdOptions {
  /** clamd's StreamMaxLength (e.g. '1M'): larger INSTREAM uploads are refused with an ERROR. */
  streamMaxLength?: string;
  /** Also listen on TCP 127.0.0.1 at a free port (`tcpPort`). */
  tcp?: boolean;
}

export interface TestClamd {
  socket: string;
  /** Set with `{ tcp: true }`. */
  tcpPort?: number;
  dir: string;
  /** Stops the daemon (SIGTERM, then SIGKILL after a deadline) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again after stop(), on the same socket (and port); resolves once it answers PING. */
  start(): Promise<void>;
  /** stop() and remove the temp dir. */
  close(): Promise<void>;
}

export async function startClamd(options: TestClamdOptions = {}): Promise<TestClamd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clamd-test-'));
  const socket = path.join(dir, 'clamd.sock');
  const tcpPort = options.tcp ? await freePort() : undefined;
  fs.mkdirSync(path.join(dir, 'db'));
  // An MD5 signature (`md5:size:name`) of the whole EICAR file; clamd reports it as `Test.EICAR.UNOFFICIAL`.
  const md5 = crypto.createHash('md5').update(EICAR).digest('hex');
  fs.writeFileSync(path.join(dir, 'db', 'test.hdb'), `${md5}:${EICAR.length}:Test.EICAR\n`);
  const conf = [
    'Foreground yes', // we own the process: no fork, the child's pid is clamd's
    `LocalSocket ${socket}`,
    `DatabaseDirectory ${path.join(dir, 'db')}`,
    `LogFile ${path.join(dir, 'clamd.log')}`,
    `PidFile ${path.join(dir, 'clamd.pid')}`,
    ...(tcpPort ? ['TCPAddr 127.0.0.1', `TCPSocket ${tcpPort}`] : []),
    ...(options.streamMaxLength ? [`StreamMaxLength ${options.streamMaxLength}`] : []),
  ];
  const confPath = path.join(dir, 'clamd.conf');
  fs.writeFileSync(confPath, conf.join('\n') + '\n');

  const targets: ClamdTarget[] = [{ socket }, ...(tcpPort ? [{ host: '127.0.0.1', port: tcpPort }] : [])];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  // If the test process dies without close(), don't leave a daemon behind.
  const killOnExit = () => child?.kill('SIGKILL');

  async function start(): Promise<void> {
    if (child) throw new Error('clamd is already running');
    fs.rmSync(socket, { force: true }); // left by a SIGKILL: clamd would not bind over it
    // Output goes to a file, not a pipe: nothing to drain, and it is there to read when startup fails.
    const out = fs.openSync(path.join(dir, 'clamd.out'), 'a');
    const proc = spawn(CLAMD, ['-c', confPath], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child = proc;
    let exitCode: string | null = null;
    exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        exitCode = signal ?? String(code);
        resolve();
      });
      proc.once('error', (err) => {
        exitCode = err.message;
        resolve();
      });
    });
    process.once('exit', killOnExit);
    const deadline = Date.now() + START_DEADLINE_MS;
    for (const target of targets) {
      const clamd = createClamd(target, { connectTimeoutMs: 500, timeoutMs: 1_000 });
      // Poll until PING answers; fail fast when the process is gone, and give up at the deadline.
      while (!(await clamd.ping())) {
        if (exitCode !== null || Date.now() > deadline) {
          const why = exitCode !== null ? `exited (${exitCode})` : `did not answer PING within ${START_DEADLINE_MS} ms`;
          await stop();
          throw new Error(`clamd ${why}; output:\n${readTail(path.join(dir, 'clamd.out'))}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), delay(STOP_DEADLINE_MS).then(() => true)]);
      if (timedOut) proc.kill('SIGKILL');
    }
    await exited;
    child = null;
    process.off('exit', killOnExit);
    // clamd removes its socket and pid file on SIGTERM, but not when killed.
    fs.rmSync(socket, { force: true });
    fs.rmSync(path.join(dir, 'clamd.pid'), { force: true });
  }

  async function close(): Promise<void> {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  try {
    await start();
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { socket, tcpPort, dir, start, stop, close };
}

/** A port the kernel just handed out as free (a small race with other processes, fine for tests). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A timer that does not keep the process alive (it only bounds a wait). */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no output)';
  }
}
