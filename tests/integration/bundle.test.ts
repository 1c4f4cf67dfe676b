/**
 * The offline install (issue 10 §7), as an operator does it: `npm run bundle` makes one archive;
 * it is unpacked into an empty folder outside the repository and started with `npm start` while
 * the registry is unreachable (`npm_config_offline`, a registry on a closed port). The server must
 * answer, serve the app and take a registration. A bundle for another Node ABI refuses to start
 * with a message instead of crashing in a native module.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'messenger-bundle-test-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

const OFFLINE_ENV = {
  ...process.env,
  npm_config_offline: 'true',
  npm_config_registry: 'http://127.0.0.1:9/',
  npm_config_cache: path.join(work, 'empty-npm-cache'),
};

describe('npm run bundle', () => {
  let folder = '';

  it('makes one archive that unpacks into a folder without dev dependencies', () => {
    execFileSync('npm', ['run', 'bundle', '--', '--out', path.join(work, 'out')], { cwd: repo, stdio: 'pipe', timeout: 240_000 });
    const archives = fs.readdirSync(path.join(work, 'out')).filter((f) => f.endsWith('.tar.gz'));
    expect(archives).toHaveLength(1);
    const target = path.join(work, 'server');
    fs.mkdirSync(target);
    execFileSync('tar', ['xzf', path.join(work, 'out', archives[0]), '-C', target]);
    const [name] = fs.readdirSync(target);
    folder = path.join(target, name);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'BUNDLE.json'), 'utf8'));
    expect(manifest.abi).toBe(process.versions.modules);
    expect(fs.existsSync(path.join(folder, 'build', 'handler.js'))).toBe(true);
    expect(fs.existsSync(path.join(folder, 'node_modules', 'better-sqlite3'))).toBe(true);
    expect(fs.existsSync(path.join(folder, 'node_modules', 'tsx'))).toBe(true);
    // dev tooling stays out
    for (const dev of ['vite', 'vitest', 'playwright-core', '@sveltejs/kit']) expect(fs.existsSync(path.join(folder, 'node_modules', dev)), dev).toBe(false);
    expect(fs.existsSync(path.join(folder, 'tests'))).toBe(false);
  }, 300_000);

  it('starts with `npm start` and no registry, serves the app and registers a user', async () => {
    expect(folder).not.toBe('');
    const child = spawn('npm', ['start'], { cwd: folder, env: { ...OFFLINE_ENV, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /"port":(\d+)/.exec(output);
        if (m) resolve(Number(m[1]));
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok' });
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const reg = await fetch(`${base}/api/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ username: 'firstadmin', password: 'correct horse 42', displayName: '관리자' }),
    });
    expect(reg.status, await reg.clone().text()).toBe(201);
    // the data lives in the bundle's own ./data
    expect(fs.existsSync(path.join(folder, 'data', 'messenger.db'))).toBe(true);
    expect(output).not.toMatch(/ENOTFOUND|ECONNREFUSED|registry/i);
  }, 60_000);

  it('refuses to start on another Node ABI, saying why', () => {
    expect(folder).not.toBe('');
    const file = path.join(folder, 'BUNDLE.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...manifest, abi: '1', node: '0.0.1' }));
    let err: { status: number; stderr: string } | null = null;
    try {
      execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: folder, stdio: 'pipe', encoding: 'utf8', env: OFFLINE_ENV });
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    expect(err?.status).toBe(1);
    expect(err?.stderr).toContain('built for');
    expect(err?.stderr).toContain('npm run bundle');
  });
});
