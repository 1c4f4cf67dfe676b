/** Live figures for the admin dashboard (`GET /api/admin/stats`): cheap enough to poll every few seconds. */
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Db } from '../db/database.ts';
import type { Clock } from '../domain/deps.ts';
import type { FileStore } from '../files/store.ts';
import type { FileService } from '../files/service.ts';

export function statsSource(d: {
  db: Db; clock: Clock; dataDir: string; fileStore: FileStore; files: FileService; clamdPing: (() => Promise<boolean>) | null;
  connections: () => number; documents: () => number; refusals: () => Record<string, number>;
  lastBackup: () => unknown; backupConfigured: () => boolean; lastRetention: () => unknown;
}) {
  const loop = monitorEventLoopDelay({ resolution: 20 });
  const lag = (ns: number) => Math.max(0, Math.round((ns / 1e6 - 20) * 10) / 10);
  loop.enable();
  const since = d.db.prepare('SELECT COUNT(*) FROM room_messages WHERE at >= ? AND erased_at IS NULL').pluck();
  const size = (f: string) => {
    try {
      return fs.statSync(f).size;
    } catch {
      return 0;
    }
  };
  // the uploads folder is walked at most every 30 s (it can hold many files)
  let uploads = { bytes: 0, at: -Infinity };
  return {
    async stats() {
      const now = d.clock.now();
      const midnight = new Date(now);
      midnight.setHours(0, 0, 0, 0);
      if (now - uploads.at > 30_000) uploads = { bytes: await d.fileStore.usedBytes(), at: now };
      let disk: { freeBytes: number; totalBytes: number } | null = null;
      try {
        const s = await fs.promises.statfs(d.dataDir);
        disk = { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
      } catch {
        disk = null;
      }
      const clamd = !d.files.avOn() ? 'off' : d.clamdPing && (await d.clamdPing()) ? 'up' : 'down';
      const mem = process.memoryUsage();
      const result = {
        connections: d.connections(),
        documents: d.documents(),
        messagesLastMinute: since.get(now - 60_000) as number,
        messagesToday: since.get(midnight.getTime()) as number,
        refusals: d.refusals(),
        storage: {
          databaseBytes: size(path.join(d.dataDir, 'messenger.db')),
          walBytes: size(path.join(d.dataDir, 'messenger.db-wal')),
          uploadsBytes: uploads.bytes,
        },
        memory: { rss: mem.rss, heapUsed: mem.heapUsed },
        // the histogram measures the sampling timer itself: what exceeds its 20 ms period is the delay
        eventLoopDelayMs: { p50: lag(loop.percentile(50)), p99: lag(loop.percentile(99)) },
        disk,
        clamd,
        lastBackup: d.lastBackup() ?? null,
        backupConfigured: d.backupConfigured(),
        lastRetention: d.lastRetention() ?? null,
        uptimeSec: Math.round(process.uptime()),
      };
      loop.reset();
      return result;
    },
    close: () => loop.disable(),
  };
}
