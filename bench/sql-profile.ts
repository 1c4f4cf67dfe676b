/**
 * `BENCH_SQLPROF=1`: loaded first by bench/server-child.ts, times every better-sqlite3 statement of
 * the server child (run/get/all) and prints the 25 costliest, by total time, when the child exits.
 * The wrapper adds about a microsecond per call: read the figures against each other.
 */
import Database from 'better-sqlite3';

const stats = new Map<string, { n: number; ms: number }>();
const proto = Database.prototype as unknown as { prepare(sql: string): Record<string, (...a: unknown[]) => unknown> };
const prepare = proto.prepare;
proto.prepare = function (this: unknown, sql: string) {
  const st = prepare.call(this, sql);
  const key = sql.replace(/\s+/g, ' ').slice(0, 110);
  for (const m of ['run', 'get', 'all']) {
    const f = st[m].bind(st);
    st[m] = (...a: unknown[]) => {
      const t = performance.now();
      try {
        return f(...a);
      } finally {
        const s = stats.get(key) ?? { n: 0, ms: 0 };
        s.n++;
        s.ms += performance.now() - t;
        stats.set(key, s);
      }
    };
  }
  return st;
};

process.on('exit', () => {
  for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
    console.error(`sql ${s.ms.toFixed(0).padStart(6)} ms ${String(s.n).padStart(7)} × ${((s.ms / s.n) * 1000).toFixed(1).padStart(7)} µs  ${k}`);
  }
});
