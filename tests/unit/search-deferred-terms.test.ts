/**
 * The FTS5 terms of new search rows are added after their commit, in batches (search/indexer.ts):
 * a row is unindexed exactly when its id is above `search_progress.upto`. These tests hold the
 * invariants that makes safe, on a real SQLite database: edits and deletes of unindexed rows leave
 * the index alone, of indexed rows they change it in the same transaction; a new row never reuses
 * the id of a deleted indexed one (it would count as indexed without terms); a rebuild marks
 * everything indexed.
 */
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { searchRepo } from '../../server/repos/search.ts';

function setup() {
  const db = openDatabase(':memory:');
  db.prepare("INSERT INTO rooms (id, kind, created_at, last_activity_at) VALUES ('r1', 'group', 0, 0)").run();
  const repo = searchRepo(db);
  const hits = (gram: string) => db.prepare('SELECT rowid FROM search_fts WHERE search_fts MATCH ?').pluck().all(`grams : "${gram}"`) as number[];
  const row = (message_id: string, text: string) => repo.insert({ room_id: 'r1', message_id, segment: 0, author: 'u1', at: 1, text });
  return { db, repo, hits, row };
}

describe('search terms added after the commit', () => {
  it('a new row has no terms until indexPending, then exactly its own', () => {
    const { repo, hits, row } = setup();
    const a = row('a', '회의록 정리');
    expect(hits('회의')).toEqual([]);
    expect(repo.indexPending(-1)).toBe(1);
    expect(hits('회의')).toEqual([a]);
    expect(repo.indexPending(-1)).toBe(0); // nothing twice
  });

  it('indexes in batches, oldest first', () => {
    const { repo, hits, row } = setup();
    const ids = ['a', 'b', 'c'].map((m) => row(m, '배포 일정'));
    expect(repo.indexPending(2)).toBe(2);
    expect(hits('배포')).toEqual(ids.slice(0, 2));
    expect(repo.indexPending(2)).toBe(1);
    expect(hits('배포')).toEqual(ids);
  });

  it('an edit or delete of an unindexed row leaves the index alone; of an indexed row it changes it', () => {
    const { repo, hits, row } = setup();
    const a = row('a', '회의 시작');
    repo.indexPending(-1);
    const b = row('b', '회의 끝');
    repo.update(b, '배포 끝'); // unindexed: only the text changes, its terms come later
    expect(hits('배포')).toEqual([]);
    repo.update(a, '점심 메뉴'); // indexed: old terms out, new terms in, now
    expect(hits('회의')).toEqual([]);
    expect(hits('점심')).toEqual([a]);
    repo.indexPending(-1);
    expect(hits('배포')).toEqual([b]);
    repo.delete(a);
    expect(hits('점심')).toEqual([]);
    const c = row('c', '휴가 신청');
    repo.delete(c); // never indexed: nothing to remove, nothing left behind
    expect(repo.indexPending(-1)).toBe(0);
    expect(hits('휴가')).toEqual([]);
  });

  it('a new row never takes the id of a deleted indexed row', () => {
    const { repo, hits, row } = setup();
    row('a', '첫 메시지');
    const b = row('b', '둘째 메시지');
    repo.indexPending(-1);
    repo.delete(b); // the newest row, indexed, goes (retention, a tombstone)
    const c = row('c', '셋째 메시지');
    expect(c).toBeGreaterThan(b);
    expect(repo.indexPending(-1)).toBe(1);
    expect(hits('셋째')).toEqual([c]);
  });

  it('a removed room takes only the terms that were added', () => {
    const { db, repo, hits, row } = setup();
    row('a', '방 메시지');
    repo.indexPending(-1);
    row('b', '방 새 메시지');
    repo.deleteRoom('r1');
    expect(hits('메시')).toEqual([]);
    expect(db.prepare('SELECT COUNT(*) FROM search_messages').pluck().get()).toBe(0);
    expect(repo.indexPending(-1)).toBe(0);
  });

  it('clear and a rebuild that indexed its rows itself leave nothing pending', () => {
    const { db, repo, hits, row } = setup();
    row('a', '회의');
    repo.clear();
    db.prepare("INSERT INTO search_messages (room_id, message_id, segment, author, at, text) VALUES ('r1', 'z', 0, 'u1', 1, '재색인')").run();
    db.prepare(`INSERT INTO search_fts (rowid, words, grams, scope) SELECT id, '재색인', '재색 색인', 'x' FROM search_messages`).run();
    repo.markAllIndexed();
    expect(repo.indexPending(-1)).toBe(0);
    expect(hits('색인')).toHaveLength(1);
  });
});
