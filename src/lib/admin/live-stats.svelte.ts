/**
 * Live figures: `GET /api/admin/stats` every few seconds while the screen is open, the latest
 * answer and, per charted figure, the last `KEEP` samples (memory only; a reload starts empty).
 * A poll waits for the previous one, so a slow server never piles requests up.
 */
import { ApiError } from '$lib/api/client.ts';
import { handleError } from '$lib/errors/handle-error.ts';
import { adminApi, type AdminStats } from './api.ts';

export const POLL_MS = 5000;
export const KEEP = 60;

/** The figures drawn as lines, each read from one sample. */
export const SERIES = {
  connections: (s: AdminStats) => s.connections,
  messagesLastMinute: (s: AdminStats) => s.messagesLastMinute,
  rss: (s: AdminStats) => s.memory.rss,
  heapUsed: (s: AdminStats) => s.memory.heapUsed,
  loopP99: (s: AdminStats) => s.eventLoopDelayMs.p99,
  storage: (s: AdminStats) => s.storage.databaseBytes + s.storage.walBytes + s.storage.uploadsBytes,
} as const;

export type SeriesName = keyof typeof SERIES;

/** Appends to a window of at most `keep` values (a new array: `$state.raw` sees the change). */
export function pushWindow(values: number[], value: number, keep = KEEP): number[] {
  const next = values.length >= keep ? values.slice(values.length - keep + 1) : values.slice();
  next.push(value);
  return next;
}

const emptySeries = () => Object.fromEntries(Object.keys(SERIES).map((k) => [k, []])) as unknown as Record<SeriesName, number[]>;

export class LiveStats {
  latest = $state.raw<AdminStats | null>(null);
  series = $state.raw<Record<SeriesName, number[]>>(emptySeries());
  /** When the latest sample arrived. */
  at = $state(0);
  failed = $state(false);
  denied = $state(false);

  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.poll();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    try {
      const stats = await adminApi.stats();
      if (!this.running) return;
      this.latest = stats;
      this.at = Date.now();
      this.failed = false;
      const next = { ...this.series };
      for (const [name, read] of Object.entries(SERIES) as [SeriesName, (s: AdminStats) => number][]) next[name] = pushWindow(next[name], read(stats));
      this.series = next;
    } catch (e) {
      if (!this.running) return;
      if (e instanceof ApiError && e.status === 404) {
        this.denied = true;
        return this.stop();
      }
      // one notice, not one every few seconds; the figures say they are stale
      if (!this.failed && !(e instanceof ApiError && e.code === 'network-error')) handleError(e);
      this.failed = true;
    }
    if (this.running) this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }
}
