// Builds the SvelteKit app when build/ is missing or older than the sources, so that
// `npm start` and `npm test` work right after `npm install` on a fresh machine.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const root = path.resolve(import.meta.dirname, '..');
const marker = path.join(root, 'build', 'handler.js');

function newest(dir) {
  let t = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

const sources = Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'static')), fs.statSync(path.join(root, 'svelte.config.js')).mtimeMs, fs.statSync(path.join(root, 'vite.config.ts')).mtimeMs);
if (!fs.existsSync(marker) || fs.statSync(marker).mtimeMs < sources) {
  console.log('[ensure-build] building the web app (vite build)…');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
}
