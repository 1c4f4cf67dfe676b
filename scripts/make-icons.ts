/**
 * Draws the app icons into static/icons/ as PNG files: the brand mark of static/favicon.svg (a white
 * speech bubble on the accent colour), rasterised here with 4×4 supersampling and written with
 * node:zlib. No downloads, no image libraries. Run after changing the mark, and commit the PNGs:
 *
 *   node --import tsx scripts/make-icons.ts
 *
 * - icon-192.png, icon-512.png: "any" purpose, rounded square with transparent corners
 * - icon-maskable-512.png, icon-maskable-192.png: full-bleed square; the mark stays inside the
 *   central 80 % circle that every mask keeps (it reaches 35 % of the size from the centre)
 * - apple-touch-icon.png (180): full-bleed and opaque (iOS rounds the corners itself)
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

type Rgba = [number, number, number, number];

const ACCENT_TOP: Rgba = [0x3b, 0x7c, 0xf0, 255];
const ACCENT_BOTTOM: Rgba = [0x2a, 0x62, 0xcc, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const SAMPLES = 4;

// ---- geometry, in the 32×32 units of favicon.svg -------------------------------------------------

function inRoundedRect(x: number, y: number, x0: number, y0: number, x1: number, y1: number, r: number): boolean {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

function inTriangle(x: number, y: number, [ax, ay]: number[], [bx, by]: number[], [cx, cy]: number[]): boolean {
  const s1 = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
  const s2 = (cx - bx) * (y - by) - (cy - by) * (x - bx);
  const s3 = (ax - cx) * (y - cy) - (ay - cy) * (x - cx);
  return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
}

/** The speech bubble: body 8..24 × 8..20 with 2.5 corners, tail down to (10.5, 24). */
function inMark(x: number, y: number): boolean {
  return inRoundedRect(x, y, 8, 8, 24, 20, 2.5) || inTriangle(x, y, [15, 19.9], [10.5, 24], [10.5, 19.9]);
}

function background(y: number): Rgba {
  const k = y / 32;
  return ACCENT_TOP.map((c, i) => Math.round(c + (ACCENT_BOTTOM[i] - c) * k)) as Rgba;
}

// ---- raster ---------------------------------------------------------------------------------------

function draw(size: number, fullBleed: boolean): Buffer {
  const px = Buffer.alloc(size * size * 4);
  const unit = 32 / size;
  for (let py = 0; py < size; py++) {
    for (let pxX = 0; pxX < size; pxX++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = (pxX + (sx + 0.5) / SAMPLES) * unit;
          const y = (py + (sy + 0.5) / SAMPLES) * unit;
          const inside = fullBleed || inRoundedRect(x, y, 0, 0, 32, 32, 7);
          if (!inside) continue;
          const c = inMark(x, y) ? WHITE : background(y);
          // premultiplied sums, so that edge pixels blend towards transparent correctly
          r += c[0];
          g += c[1];
          b += c[2];
          a += 255;
        }
      }
      const o = (py * size + pxX) * 4;
      const n = SAMPLES * SAMPLES;
      const cover = a / 255;
      px[o] = cover ? Math.round(r / cover) : 0;
      px[o + 1] = cover ? Math.round(g / cover) : 0;
      px[o + 2] = cover ? Math.round(b / cover) : 0;
      px[o + 3] = Math.round(a / n);
    }
  }
  return px;
}

// ---- PNG ------------------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export function encodePng(size: number, rgba: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    rows[y * (size * 4 + 1)] = 0; // filter: none
    rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const ICONS: { file: string; size: number; fullBleed: boolean }[] = [
  { file: 'icon-192.png', size: 192, fullBleed: false },
  { file: 'icon-512.png', size: 512, fullBleed: false },
  { file: 'icon-maskable-192.png', size: 192, fullBleed: true },
  { file: 'icon-maskable-512.png', size: 512, fullBleed: true },
  { file: 'apple-touch-icon.png', size: 180, fullBleed: true },
];

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const out = fileURLToPath(new URL('../static/icons/', import.meta.url));
  fs.mkdirSync(out, { recursive: true });
  for (const icon of ICONS) {
    const png = encodePng(icon.size, draw(icon.size, icon.fullBleed));
    fs.writeFileSync(path.join(out, icon.file), png);
    console.log(`static/icons/${icon.file}  ${icon.size}×${icon.size}  ${png.length} bytes`);
  }
}
