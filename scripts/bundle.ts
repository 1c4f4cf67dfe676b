/**
 * `npm run bundle [-- --out <dir>]`: one archive for a server without registry access.
 *
 * It holds the built web app, the server sources (run by tsx, a production dependency), the
 * operator scripts and the production dependencies exactly as installed here, native modules
 * (better-sqlite3, sharp, argon2) included. Those are built for this machine's platform, CPU and
 * Node ABI, so build the bundle on the same OS/arch and Node major as the target; `npm start` in the
 * bundle checks this and says so instead of crashing in a native module.
 *
 * On the target: `tar xzf <archive>`, `cd <folder>`, `npm start`. Nothing is fetched.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(root, 'dist') } } });
const outDir = path.resolve(values.out!);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const major = process.versions.node.split('.')[0];
const name = `${pkg.name}-${pkg.version}-${process.platform}-${process.arch}-node${major}`;

// what a running server and its operator scripts read; tests, benchmarks and dev tooling stay out
const COPY = ['package.json', 'package-lock.json', 'README.md', 'docs', 'build', 'server', 'src', 'static', 'scripts', 'tsconfig.json', 'svelte.config.js'];

function step(what: string) {
  console.log(`[bundle] ${what}`);
}

step('building the web app if its sources changed');
execFileSync(process.execPath, [path.join(root, 'scripts', 'ensure-build.mjs')], { cwd: root, stdio: 'inherit' });

const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-bundle-'));
const dest = path.join(staging, name);
try {
  fs.mkdirSync(dest);
  for (const entry of COPY) {
    const from = path.join(root, entry);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dest, entry), { recursive: true, preserveTimestamps: true });
  }
  step('copying the installed dependencies (native modules as built here)');
  // node_modules may be a symlink (a git worktree); copy what it points at
  fs.cpSync(fs.realpathSync(path.join(root, 'node_modules')), path.join(dest, 'node_modules'), { recursive: true, dereference: false, verbatimSymlinks: false });
  step('removing development dependencies (offline)');
  execFileSync('npm', ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dest, stdio: 'inherit' });
  fs.rmSync(path.join(dest, 'node_modules', '.vite'), { recursive: true, force: true });
  fs.rmSync(path.join(dest, 'node_modules', '.vite-temp'), { recursive: true, force: true });

  // scripts/ensure-build.mjs reads this: no rebuild in a bundle, and a clear refusal on the wrong target
  const manifest = {
    name: pkg.name,
    version: pkg.version,
    platform: process.platform,
    arch: process.arch,
    node: process.versions.node,
    abi: process.versions.modules,
    builtAt: new Date().toISOString(),
    commit: gitCommit(),
  };
  fs.writeFileSync(path.join(dest, 'BUNDLE.json'), JSON.stringify(manifest, null, 2) + '\n');

  fs.mkdirSync(outDir, { recursive: true });
  const archive = path.join(outDir, `${name}.tar.gz`);
  step(`writing ${path.relative(process.cwd(), archive) || archive}`);
  execFileSync('tar', ['-czf', archive, '-C', staging, name], { stdio: 'inherit' });
  const sha = crypto.createHash('sha256').update(fs.readFileSync(archive)).digest('hex');
  fs.writeFileSync(`${archive}.sha256`, `${sha}  ${path.basename(archive)}\n`);
  const mb = (fs.statSync(archive).size / 1024 / 1024).toFixed(1);
  console.log(`[bundle] ${archive} (${mb} MB, sha256 ${sha.slice(0, 16)}…)`);
  console.log(`[bundle] on the server: tar xzf ${path.basename(archive)} && cd ${name} && npm start`);
} finally {
  fs.rmSync(staging, { recursive: true, force: true });
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
