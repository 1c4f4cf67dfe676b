/**
 * `npm run bench` (part 3): upload throughput against our real server in a child process
 * (SQLITE_SYNCHRONOUS=FULL, AV off): one 50 MB file, and 100 phone-sized JPEGs with thumbnails
 * (4 at a time), with the server's peak RSS sampled every 20 ms during each. Writes
 * .bench/uploads.json and prints a table. See docs/BENCHMARKS.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import sharp from 'sharp';
import { ServerChild, api, dist, mb } from './lib.ts';

const ROOT = process.cwd();
const OUT = path.join(ROOT, '.bench');
const BIG_MB = Number(process.env.BENCH_UPLOAD_MB ?? 50);
const IMAGES = Number(process.env.BENCH_UPLOAD_IMAGES ?? 100);
const log = (line: string) => console.log(line);

async function uploadOnce(base: string, token: string, roomId: string, name: string, data: Buffer): Promise<{ ms: number; body: any }> {
  const form = new FormData();
  form.append('room_id', roomId);
  form.append('file', new Blob([new Uint8Array(data)]), name);
  const t0 = performance.now();
  const res = await fetch(`${base}/api/upload`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const body = await res.json();
  const ms = performance.now() - t0;
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(body)}`);
  return { ms, body };
}

/** Samples the child's RSS (no GC) until stopped; returns the peak. */
function rssSampler(child: ServerChild) {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const s = await child.cpu();
      peak = Math.max(peak, s.rss);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { async stop() { running = false; await loop; return peak; } };
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-uploads-'));
  const child = await ServerChild.start('app', { DATA_DIR: dataDir, SQLITE_SYNCHRONOUS: 'FULL', UPLOAD_MAX_BYTES: String(200 * 1024 * 1024) });
  try {
    const base = child.httpUrl;
    const tag = Date.now().toString(36);
    const a = await api(base, 'POST', '/api/register', { username: `up_a_${tag}`, password: 'bench-password-1' });
    const b = await api(base, 'POST', '/api/register', { username: `up_b_${tag}`, password: 'bench-password-1' });
    const room = (await api(base, 'POST', '/api/rooms', { name: 'uploads', memberIds: [b.user.id] }, a.token)).room;
    const idle = (await child.stats()).rss;

    // (u1) one big file: a zip header, then random bytes (incompressible, like real archives)
    const big = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), crypto.randomBytes(BIG_MB * 1_000_000 - 4)]);
    const s1 = rssSampler(child);
    const one = await uploadOnce(base, a.token, room.id, 'big.zip', big);
    const bigPeak = await s1.stop();
    const bigMBps = big.length / 1e6 / (one.ms / 1000);

    // (u2) phone-sized photos with noise (do not compress away), thumbnails made in the request
    const images: Buffer[] = [];
    for (let i = 0; i < IMAGES; i++) {
      images.push(await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 80 }).toBuffer());
    }
    const totalBytes = images.reduce((n, b) => n + b.length, 0);
    const s2 = rssSampler(child);
    const times: number[] = [];
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < images.length) {
        const i = next++;
        const r = await uploadOnce(base, a.token, room.id, `photo-${i}.jpg`, images[i]);
        if (!r.body.file.thumb) throw new Error('no thumbnail');
        times.push(r.ms);
      }
    }));
    const wall = (performance.now() - t0) / 1000;
    const imgPeak = await s2.stop();
    const d = dist(times);
    const result = {
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      big: { mb: big.length / 1e6, ms: Math.round(one.ms), mbPerSec: Number(bigMBps.toFixed(1)), peakRssMb: mb(bigPeak), idleRssMb: mb(idle) },
      images: { count: IMAGES, avgKb: Math.round(totalBytes / IMAGES / 1000), perSec: Number((IMAGES / wall).toFixed(1)), mbPerSec: Number((totalBytes / 1e6 / wall).toFixed(1)), p50ms: Math.round(d.p50), p99ms: Math.round(d.p99), peakRssMb: mb(imgPeak) },
    };
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, 'uploads.json'), JSON.stringify(result, null, 2));
    log('\n## Uploads (SQLITE_SYNCHRONOUS=FULL, AV off)\n');
    log('| scenario | result | server peak RSS |');
    log('|---|---|---|');
    log(`| (u1) one ${result.big.mb} MB file | ${result.big.mbPerSec} MB/s (${result.big.ms} ms) | ${result.big.peakRssMb} MB (idle ${result.big.idleRssMb} MB) |`);
    log(`| (u2) ${IMAGES} JPEGs 1600×1200 (~${result.images.avgKb} KB) with thumbnails, 4 at a time | ${result.images.perSec} images/s, ${result.images.mbPerSec} MB/s, p50 ${result.images.p50ms} ms, p99 ${result.images.p99ms} ms | ${result.images.peakRssMb} MB |`);
  } finally {
    await child.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
