/**
 * The clamd client against a real ClamAV daemon (started per describe block with a one-signature
 * database: EICAR). Skipped only when clamd is not installed outside CI (requireClamd).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClamdError, ClamdUnavailable, clamdTargetFromEnv, createClamd } from '../../server/files/clamav.ts';
import { EICAR, requireClamd, startClamd, type TestClamd } from '../helpers/clamd.ts';

const available = requireClamd('tests/integration/clamav.test.ts');

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'clamav-test-files-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function file(name: string, content: Buffer | string): string {
  const p = path.join(work, name);
  fs.writeFileSync(p, content);
  return p;
}

/** A small, valid one-page PDF (correct xref offsets), so clamd's PDF parser really runs on it. */
function minimalPdf(): Buffer {
  const text = 'BT /F1 24 Tf 40 100 Td (Hello, clamd) Tj ET';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets = objects.map((body, i) => {
    const offset = pdf.length;
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

describe.skipIf(!available)('clamd client against a real clamd', () => {
  let daemon: TestClamd;
  beforeAll(async () => {
    daemon = await startClamd({ tcp: true });
  });
  afterAll(() => daemon?.close());

  it('finds EICAR, passes a clean PDF and a 5 MB random file', async () => {
    const clamd = createClamd({ socket: daemon.socket });
    expect(await clamd.scanFile(file('eicar.com', EICAR))).toEqual({ clean: false, signature: expect.stringMatching(/eicar/i) });
    expect(await clamd.scanFile(file('hello.pdf', minimalPdf()))).toEqual({ clean: true });
    expect(await clamd.scanFile(file('random.bin', crypto.randomBytes(5 * 1024 * 1024)))).toEqual({ clean: true });
    expect(await clamd.scanFile(file('empty', ''))).toEqual({ clean: true });
  });

  it('reassembles the stream from tiny chunks and handles parallel scans', async () => {
    // 7-byte chunks split EICAR across ten INSTREAM chunks: clamd must see the same 68 bytes.
    const tiny = createClamd({ socket: daemon.socket }, { chunkBytes: 7 });
    expect(await tiny.scanFile(file('eicar-tiny', EICAR))).toMatchObject({ clean: false });
    const clamd = createClamd({ socket: daemon.socket });
    const eicar = file('eicar-par', EICAR);
    const clean = file('clean-par', crypto.randomBytes(256 * 1024));
    const verdicts = await Promise.all([eicar, clean, eicar, clean, eicar, clean].map((p) => clamd.scanFile(p)));
    expect(verdicts.map((v) => v.clean)).toEqual([false, true, false, true, false, true]);
  });

  it('pings and reports its version, over the Unix socket and TCP', async () => {
    for (const clamd of [createClamd({ socket: daemon.socket }), createClamd({ host: '127.0.0.1', port: daemon.tcpPort! })]) {
      expect(await clamd.ping()).toBe(true);
      expect(await clamd.version()).toMatch(/^ClamAV \d+\.\d+/);
    }
  });

  it('scans over TCP', async () => {
    const clamd = createClamd({ host: '127.0.0.1', port: daemon.tcpPort! });
    expect(await clamd.scanFile(file('eicar-tcp', EICAR))).toMatchObject({ clean: false, signature: expect.stringMatching(/eicar/i) });
    expect(await clamd.scanFile(file('random-tcp.bin', crypto.randomBytes(1024 * 1024)))).toEqual({ clean: true });
  });

  it('passes on the error for a missing file (not a clamd problem)', async () => {
    await expect(createClamd({ socket: daemon.socket }).scanFile(path.join(work, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives up on a hung clamd with ClamdUnavailable after the timeout', async () => {
    // A stopped (SIGSTOP) clamd still accepts connections in the kernel but never answers.
    const pid = Number(fs.readFileSync(path.join(daemon.dir, 'clamd.pid'), 'utf8'));
    process.kill(pid, 'SIGSTOP');
    try {
      const clamd = createClamd({ socket: daemon.socket }, { timeoutMs: 300 });
      const started = Date.now();
      const scan = clamd.scanFile(file('hung.bin', crypto.randomBytes(2 * 1024 * 1024)));
      await expect(scan).rejects.toBeInstanceOf(ClamdUnavailable);
      await expect(scan).rejects.toThrow(/no reply within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await clamd.ping()).toBe(false);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(await createClamd({ socket: daemon.socket }).ping()).toBe(true);
  });

  // Last in this block: it stops and restarts the shared daemon.
  it('reports a stopped clamd as unavailable, and works again once it is back', async () => {
    const unix = createClamd({ socket: daemon.socket });
    const tcp = createClamd({ host: '127.0.0.1', port: daemon.tcpPort! });
    const eicar = file('eicar-restart', EICAR);
    await daemon.stop();
    for (const clamd of [unix, tcp]) {
      await expect(clamd.scanFile(eicar)).rejects.toBeInstanceOf(ClamdUnavailable);
      expect(await clamd.ping()).toBe(false);
      expect(await clamd.version()).toBeNull();
    }
    await daemon.start();
    for (const clamd of [unix, tcp]) {
      expect(await clamd.ping()).toBe(true);
      expect(await clamd.scanFile(eicar)).toMatchObject({ clean: false });
    }
  });
});

describe.skipIf(!available)('clamd with a small StreamMaxLength', () => {
  let daemon: TestClamd;
  beforeAll(async () => {
    daemon = await startClamd({ streamMaxLength: '1M', tcp: true });
  });
  afterAll(() => daemon?.close());

  it('scans a file under the limit', async () => {
    const clamd = createClamd({ socket: daemon.socket });
    expect(await clamd.scanFile(file('under.bin', crypto.randomBytes(512 * 1024)))).toEqual({ clean: true });
  });

  it('gives ClamdError (never clean, never unavailable) for a file over the limit', async () => {
    // clamd's refusal arrives either as its `INSTREAM size limit exceeded. ERROR` reply or as a broken
    // pipe before we read it (see scanFile): repeat so that both ways are taken, over both transports.
    const big = file('over.bin', crypto.randomBytes(3 * 1024 * 1024));
    for (const clamd of [createClamd({ socket: daemon.socket }), createClamd({ host: '127.0.0.1', port: daemon.tcpPort! })]) {
      for (let i = 0; i < 10; i++) {
        const scan = clamd.scanFile(big);
        await expect(scan).rejects.toBeInstanceOf(ClamdError);
        await expect(scan).rejects.toThrow(/size limit exceeded|StreamMaxLength/);
      }
      expect(await clamd.ping()).toBe(true);
    }
  });
});

describe('clamdTargetFromEnv', () => {
  it('is off unless AV_SCAN=clamav', () => {
    expect(clamdTargetFromEnv({})).toBeNull();
    expect(clamdTargetFromEnv({ AV_SCAN: '' })).toBeNull();
    expect(clamdTargetFromEnv({ AV_SCAN: 'off', CLAMD_SOCKET: '/run/clamd.sock' })).toBeNull();
  });

  it('reads a Unix socket or a host and port (default 3310)', () => {
    expect(clamdTargetFromEnv({ AV_SCAN: 'clamav', CLAMD_SOCKET: '/run/clamav/clamd.ctl' })).toEqual({ socket: '/run/clamav/clamd.ctl' });
    expect(clamdTargetFromEnv({ AV_SCAN: 'clamav', CLAMD_HOST: 'av.local' })).toEqual({ host: 'av.local', port: 3310 });
    expect(clamdTargetFromEnv({ AV_SCAN: 'clamav', CLAMD_HOST: '10.0.0.5', CLAMD_PORT: '3311' })).toEqual({ host: '10.0.0.5', port: 3311 });
  });

  it('rejects bad combinations with a clear message', () => {
    expect(() => clamdTargetFromEnv({ AV_SCAN: 'clamav' })).toThrow(/needs CLAMD_SOCKET .* or CLAMD_HOST/);
    expect(() => clamdTargetFromEnv({ AV_SCAN: 'yes' })).toThrow(/AV_SCAN must be "clamav" or "off"/);
    expect(() => clamdTargetFromEnv({ AV_SCAN: 'clamav', CLAMD_SOCKET: '/s', CLAMD_HOST: 'h' })).toThrow(/not both/);
    expect(() => clamdTargetFromEnv({ AV_SCAN: 'clamav', CLAMD_PORT: '3310' })).toThrow(/CLAMD_PORT needs CLAMD_HOST/);
    expect(() => clamdTargetFromEnv({ AV_SCAN: 'clamav', CLAMD_HOST: 'h', CLAMD_PORT: 'http' })).toThrow(/CLAMD_PORT must be a port number/);
    expect(() => clamdTargetFromEnv({ AV_SCAN: 'clamav', CLAMD_HOST: 'h', CLAMD_PORT: '70000' })).toThrow(/CLAMD_PORT/);
  });
});
