/**
 * The write queue runs a batch in arrival order (issue 7 item 12): an operation carrying the
 * arrival ticket of its frame runs at that place, one without a ticket after every frame that had
 * arrived when it was queued, and operations of equal order keep their queueing order.
 */
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { WriteQueue } from '../../server/collab/write-queue.ts';
import { Arrivals } from '../../server/collab/arrivals.ts';

describe('write queue order', () => {
  it('runs a batch in arrival order, not in queueing order', async () => {
    const db = openDatabase(':memory:');
    const arrivals = new Arrivals();
    const queue = new WriteQueue(db, { durable: () => {}, failed: () => {} }, () => arrivals.now());
    const ran: string[] = [];
    const op = (name: string, order?: number) => queue.enqueue({ doc: null, order, run: () => ran.push(name) });
    const [a, b, c] = [Buffer.from([1]), Buffer.from([2]), Buffer.from([3])].map((f) => arrivals.stamp(f));
    // applied interleaved (c before b), plus a server write queued in between and one after
    const done = [op('a', a), op('c', c), op('server-1'), op('b', b), op('server-2')];
    queue.flush();
    await Promise.all(done);
    expect(ran).toEqual(['a', 'b', 'c', 'server-1', 'server-2']);
  });

  it('finds a frame’s ticket from its payload (a view that ends where the frame ends), and none for others', () => {
    const arrivals = new Arrivals();
    const pool = Buffer.from([7, 7, 0, 2, 1, 2, 0, 2, 3, 4]); // two frames in one pooled buffer, as ws and Buffer.from hand them out
    const first = pool.subarray(2, 6);
    const second = pool.subarray(6, 10);
    const t1 = arrivals.stamp(first);
    const t2 = arrivals.stamp(second);
    expect(arrivals.of(first.subarray(2))).toBe(t1);
    expect(arrivals.of(second.subarray(3))).toBe(t2);
    // a payload that does not end at a frame's end, or lives in another buffer, has no ticket
    expect(arrivals.of(second.subarray(1, 3))).toBeUndefined();
    expect(arrivals.of(Buffer.from(second))).toBeUndefined();
    expect(arrivals.now()).toBe(t2 + 1);
  });
});
