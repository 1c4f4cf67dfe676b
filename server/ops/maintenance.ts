/**
 * Maintenance jobs on a schedule, each with its last run (time, duration, result) for the dashboard,
 * and runnable by hand (`POST /api/admin/maintenance/:job`). A job never runs twice at once: a run
 * asked for while one is going joins it.
 */
import type { Logger } from 'pino';

export interface JobRun {
  at: number;
  durationMs: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface Job {
  name: string;
  description: string;
  everyMs: number;
  /** Also once right after start. */
  atStart?: boolean;
  run(): Promise<unknown> | unknown;
}

export class Maintenance {
  private last = new Map<string, JobRun>();
  private running = new Map<string, Promise<JobRun>>();
  private timers: NodeJS.Timeout[] = [];

  constructor(private jobs: Job[], private log: Logger, private now: () => number) {}

  start(): void {
    for (const job of this.jobs) {
      const t = setInterval(() => void this.run(job.name), job.everyMs);
      t.unref();
      this.timers.push(t);
      if (job.atStart) setImmediate(() => void this.run(job.name));
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  list() {
    return this.jobs.map((j) => ({ name: j.name, description: j.description, everyMs: j.everyMs, running: this.running.has(j.name), last: this.last.get(j.name) ?? null }));
  }

  has(name: string): boolean {
    return this.jobs.some((j) => j.name === name);
  }

  run(name: string): Promise<JobRun> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) return Promise.reject(new Error(`no job ${name}`));
    const going = this.running.get(name);
    if (going) return going;
    const at = this.now();
    const t0 = performance.now();
    const p = (async (): Promise<JobRun> => {
      try {
        const result = await job.run();
        return { at, durationMs: Math.round(performance.now() - t0), ok: true, result };
      } catch (err) {
        this.log.error({ err, job: name }, 'maintenance job failed');
        return { at, durationMs: Math.round(performance.now() - t0), ok: false, error: (err as Error).message };
      }
    })().then((r) => {
      this.last.set(name, r);
      this.running.delete(name);
      return r;
    });
    this.running.set(name, p);
    return p;
  }
}
