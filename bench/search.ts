/**
 * `npm run bench` (part 4): message search over BENCH_SEARCH_MESSAGES (default 1,000,000) generated
 * messages, a Korean/English office mix, in 200 rooms; the searching user is a member of 20.
 *
 * - time to index them (through SearchService.indexInTx, as the write path does), index size on disk
 *   against the size of the text;
 * - ingest cost per message with the index on and off (the same commit without the index rows);
 * - latency p50/p95 of 2-syllable, 3+-syllable, Latin and mixed queries, with and without a room
 *   filter, on one core (this process, no server);
 * - recall and precision against planted answers: every planted 2-syllable word is found in the
 *   user's rooms, and nothing from a room the user is not in comes back.
 *
 * Writes .bench/search.json and prints a table. See docs/BENCHMARKS.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openDatabase } from '../server/db/database.ts';
import { loadConfig } from '../server/config.ts';
import { buildServices } from '../server/services.ts';

const N = Number(process.env.BENCH_SEARCH_MESSAGES ?? 1_000_000);
const ROOMS = 200;
const MEMBER_OF = 20;
const QUERIES = Number(process.env.BENCH_SEARCH_QUERIES ?? 200);
const log = (line: string) => console.log(line);

// a small deterministic generator (the same corpus every run)
let seed = 20261201;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];

const NOUNS = ['회의', '회의록', '배포', '예산', '일정', '보고서', '검토', '계약', '고객', '서버', '장애', '점검', '출장', '휴가', '결재', '자료', '발표', '프로젝트', '요청', '확인', '공유', '문서', '견적', '납품', '교육'];
const PARTICLES = ['', '을', '를', '이', '가', '은', '는', '에', '의', '도', '로'];
const TAILS = ['부탁드립니다', '공유합니다', '확인했습니다', '진행하겠습니다', '완료되었습니다', '예정입니다', '어떻게 할까요?', '알려주세요', '감사합니다'];
const LATIN = ['QA', 'deploy', 'release', 'staging', 'hotfix', 'PR', 'review', 'meeting', 'budget', 'v2.3', 'API', 'Jira', 'Slack', 'build', 'test'];
/** Words that occur only where planted: the recall check. */
const PLANTED = ['덕담', '만찬', '풍등', '설원'];

function sentence(): string {
  const parts: string[] = [];
  const n = 2 + Math.floor(rnd() * 5);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.65) parts.push(pick(NOUNS) + pick(PARTICLES));
    else if (r < 0.85) parts.push(pick(LATIN));
    else parts.push(pick(TAILS));
  }
  parts.push(pick(TAILS));
  return parts.join(' ');
}

async function main() {
  // BENCH_SEARCH_KEEP=dir keeps (and on the next run reuses) the indexed corpus: for profiling queries
  const keep = process.env.BENCH_SEARCH_KEEP;
  const reuse = !!keep && fs.existsSync(path.join(keep, 'messenger.db'));
  const dataDir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-search-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const config = loadConfig({}, { dataDir, logLevel: 'silent', sqliteSynchronous: 'NORMAL' });
  const db = openDatabase(path.join(dataDir, 'messenger.db'), 'NORMAL');
  const s = buildServices(db, config, { log: pino({ level: 'silent' }) });
  try {
    // users and rooms: the searcher is in the first MEMBER_OF rooms
    const now = reuse ? (db.prepare('SELECT created_at FROM users LIMIT 1').pluck().get() as number) : Date.now();
    if (!reuse) db.prepare("INSERT INTO users (id, username, display_name, created_at) VALUES ('searcher0001', 'searcher', 'S', ?), ('otheruser01', 'other', 'O', ?)").run(now, now);
    const rooms: string[] = [];
    for (let r = 0; r < ROOMS; r++) {
      const id = `room${String(r).padStart(6, '0')}`;
      rooms.push(id);
      if (reuse) continue;
      db.prepare("INSERT INTO rooms (id, kind, name, visibility, created_at, last_activity_at) VALUES (?, 'group', ?, 'shared', ?, ?)").run(id, id, now, now);
      db.prepare('INSERT INTO segments (room_id, n, opened_at) VALUES (?, 0, ?)').run(id, now);
      db.prepare("INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?, 'otheruser01', 'admin', ?)").run(id, now);
      if (r < MEMBER_OF) db.prepare("INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?, 'searcher0001', 'member', ?)").run(id, now);
    }

    // (s1) index N messages through the write path's call, in commits of 500 (as group commit does)
    const planted: { room: string; id: string; word: string }[] = [];
    const texts: { room: string; id: string; text: string; at: number }[] = [];
    for (let i = 0; i < N; i++) {
      const room = rooms[Math.floor(rnd() * ROOMS)];
      let text = sentence();
      if (i % 5000 === 17) {
        const word = pick(PLANTED);
        text = `${text} ${word}${pick(PARTICLES)}`;
        planted.push({ room, id: `msg${i}`, word });
      }
      texts.push({ room, id: `msg${i}`, text, at: now - (N - i) * 1000 });
    }
    const textBytes = texts.reduce((n, t) => n + Buffer.byteLength(t.text), 0);
    const insertMsg = db.prepare('INSERT INTO room_messages (room_id, message_id, segment, seq, at, author) VALUES (?, ?, 0, ?, ?, ?)');
    const batch = (from: number, to: number, indexed: boolean) =>
      db.transaction(() => {
        for (let i = from; i < to; i++) {
          const t = texts[i];
          insertMsg.run(t.room, t.id, i + 1, t.at, 'otheruser01');
          if (indexed) s.search.indexInTx(t.room, { id: t.id, author: 'otheruser01', text: t.text, createdAt: t.at }, { segment: 0, at: t.at });
        }
        if (indexed) s.search.indexPendingInTx();
      })();
    const t0 = performance.now();
    if (!reuse) for (let i = 0; i < N; i += 500) batch(i, Math.min(N, i + 500), true);
    const indexMs = performance.now() - t0;

    // (s2) ingest cost: the same commits of the next 20,000 with the index off, then on
    const SAMPLE = Math.min(20_000, N);
    const extra = texts.slice(0, SAMPLE).map((t, i) => ({ ...t, id: `x${i}` }));
    const timeBatches = (indexed: boolean, tag: string) => {
      const start = performance.now();
      db.transaction(() => {
        extra.forEach((t, i) => {
          insertMsg.run(t.room, `${tag}${t.id}`, N + 1 + i + (indexed ? SAMPLE : 0), t.at, 'otheruser01');
          if (indexed) s.search.indexInTx(t.room, { id: `${tag}${t.id}`, author: 'otheruser01', text: t.text, createdAt: t.at }, { segment: 0, at: t.at });
        });
        if (indexed) s.search.indexPendingInTx();
      })();
      return ((performance.now() - start) * 1000) / SAMPLE;
    };
    const offUs = reuse ? NaN : timeBatches(false, 'off');
    const onUs = reuse ? NaN : timeBatches(true, 'on');
    db.pragma('wal_checkpoint(TRUNCATE)');

    // index size: FTS5 shadow tables, and the stored text table for comparison
    const sizeOf = (like: string) => db.prepare('SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE ?').pluck().get(like) as number;
    const ftsBytesBefore = sizeOf('search_fts%');
    // what the index settles to once FTS5 has merged its segments (automerge does it over time)
    const tOpt = performance.now();
    db.exec("INSERT INTO search_fts(search_fts) VALUES ('optimize')");
    const optimizeMs = performance.now() - tOpt;
    db.pragma('wal_checkpoint(TRUNCATE)');
    const ftsBytes = sizeOf('search_fts%');
    const rowsBytes = sizeOf('search_messages%') + sizeOf('sqlite_autoindex_search_messages%');

    // (s3) latency, on this one core
    const user = 'searcher0001';
    const kinds: Record<string, string[]> = {
      '2-syllable': ['회의', '배포', '예산', '일정', '검토', '장애'],
      '3+ syllable': ['회의록', '보고서', '프로젝트', '완료되었습니다'],
      Latin: ['qa', 'deploy', 'stag', 'hotfix', 'jira'],
      mixed: ['QA 배포', 'release 일정', '회의록 review', 'API 장애'],
    };
    const latency: Record<string, { p50: number; p95: number }> = {};
    for (const [kind, qs] of Object.entries(kinds)) {
      for (const filtered of [false, true]) {
        const times: number[] = [];
        for (let i = 0; i < QUERIES; i++) {
          const q = qs[i % qs.length];
          const t = performance.now();
          s.search.search(user, { query: q, roomId: filtered ? rooms[i % MEMBER_OF] : null, limit: 20, offset: 0 });
          times.push(performance.now() - t);
        }
        const sorted = [...times].sort((a, b) => a - b);
        const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
        latency[`${kind}${filtered ? ' + room' : ''}`] = { p50: Number(q(0.5).toFixed(1)), p95: Number(q(0.95).toFixed(1)) };
      }
    }

    // (s4) recall and precision on the planted words
    let found = 0;
    let expected = 0;
    let leaked = 0;
    const mine = new Set(rooms.slice(0, MEMBER_OF));
    for (const word of PLANTED) {
      const want = new Set(planted.filter((p) => p.word === word && mine.has(p.room)).map((p) => p.id));
      expected += want.size;
      const got = new Set<string>();
      for (let offset = 0; offset <= 10_000; offset += 100) {
        const page = s.search.search(user, { query: word, limit: 100, offset });
        for (const r of page.results) {
          if (!mine.has(r.roomId)) leaked++;
          got.add(r.messageId);
        }
        if (page.results.length < 100) break;
      }
      for (const id of want) if (got.has(id)) found++;
      for (const id of got) if (!want.has(id)) leaked++;
    }

    const result = {
      messages: N, rooms: ROOMS, memberOf: MEMBER_OF,
      indexSeconds: Number((indexMs / 1000).toFixed(1)), perMessageUs: Number(((indexMs * 1000) / N).toFixed(1)),
      textMb: Number((textBytes / 1e6).toFixed(1)), ftsMb: Number((ftsBytes / 1e6).toFixed(1)), ftsBeforeOptimizeMb: Number((ftsBytesBefore / 1e6).toFixed(1)), optimizeSeconds: Number((optimizeMs / 1000).toFixed(1)), rowsMb: Number((rowsBytes / 1e6).toFixed(1)),
      ftsToText: Number((ftsBytes / textBytes).toFixed(2)),
      ingest: { indexOffUs: Number(offUs.toFixed(1)), indexOnUs: Number(onUs.toFixed(1)) },
      latency,
      recall: { expected, found, falseHits: leaked },
    };
    fs.mkdirSync(path.join(process.cwd(), '.bench'), { recursive: true });
    fs.writeFileSync(path.join(process.cwd(), '.bench', 'search.json'), JSON.stringify(result, null, 2));
    log(`\n## Search (${N.toLocaleString('en')} messages, ${ROOMS} rooms, the searcher in ${MEMBER_OF})\n`);
    log(`- indexed in ${result.indexSeconds} s (${result.perMessageUs} µs per message, in commits of 500)`);
    log(`- text ${result.textMb} MB; FTS5 index ${result.ftsMb} MB (${result.ftsToText}× the text) after merging (${result.ftsBeforeOptimizeMb} MB before; 'optimize' took ${result.optimizeSeconds} s); stored rows with the text ${result.rowsMb} MB`);
    log(`- ingest per message in one commit: ${result.ingest.indexOffUs} µs without the index, ${result.ingest.indexOnUs} µs with it`);
    log(`- recall: ${found}/${expected} planted messages found; ${leaked} false or foreign hits\n`);
    log('| query | p50 ms | p95 ms |');
    log('|---|---|---|');
    for (const [k, v] of Object.entries(latency)) log(`| ${k} | ${v.p50} | ${v.p95} |`);
  } finally {
    db.close();
    if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
