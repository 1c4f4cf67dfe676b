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

// an offline bundle (`npm run bundle`) ships its build and no build tools: check the target instead
const bundleFile = path.join(root, 'BUNDLE.json');
if (fs.existsSync(bundleFile)) {
  const b = JSON.parse(fs.readFileSync(bundleFile, 'utf8'));
  const here = { platform: process.platform, arch: process.arch, abi: process.versions.modules };
  if (b.platform !== here.platform || b.arch !== here.arch || b.abi !== here.abi) {
    console.error(
      `[bundle] this bundle was built for ${b.platform}-${b.arch} with Node ${b.node} (ABI ${b.abi}); ` +
        `this machine is ${here.platform}-${here.arch} with Node ${process.versions.node} (ABI ${here.abi}).\n` +
        `[bundle] its native modules will not load here: build the bundle with \`npm run bundle\` on a machine like this one.`,
    );
    process.exit(1);
  }
  if (!fs.existsSync(marker)) {
    console.error('[bundle] build/ is missing from this bundle');
    process.exit(1);
  }
  process.exit(0);
}

const sources = Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'static')), fs.statSync(path.join(root, 'svelte.config.js')).mtimeMs, fs.statSync(path.join(root, 'vite.config.ts')).mtimeMs);
if (!fs.existsSync(marker) || fs.statSync(marker).mtimeMs < sources) {
  console.log('[ensure-build] building the web app (vite build)…');
  // NODE_ENV=production whoever calls us: from inside vitest (NODE_ENV=test) Vite would resolve the
  // `development` export conditions and ship Svelte's and SvelteKit's dev-only code
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}
