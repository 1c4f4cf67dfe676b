/**
 * Arrival order of `/collab` frames: the order in which each author's writes get their seqs.
 *
 * Why it is needed: Hocuspocus handles each document connection's messages in its own queue, and
 * the queues of one socket's documents run independently (interleaved, one await at a time). When
 * frames for two documents arrive in one read (a writer that wrote into a segment that was sealed
 * meanwhile and already into the new one), they are applied interleaved: the second frame of the
 * sealed segment after the first frame of the new one. Seqs taken in apply order would then go
 * backwards for that author (issue 7 item 12).
 *
 * So every frame gets a ticket from one process-wide counter when it arrives on its socket
 * (CollabSockets), before Hocuspocus sees it. The ticket is found again from the update payload
 * the validator is given: that payload is a view on the frame's buffer and ends where the frame
 * ends, so (buffer, end offset) identifies the frame. The write queue runs a
 * batch's operations in ticket order, so the seqs of a batch follow arrival order. Every hook on the
 * way from a frame to its apply settles within the same event-loop turn (no timers, no I/O), so the
 * frames that arrive in one turn are applied in that turn and commit in the same batch.
 *
 * Operations without a frame (server writes, compaction, receipts) take the counter's value when
 * they are queued: they come after every frame that had arrived by then.
 */
export class Arrivals {
  private next = 1;
  /** Per buffer: the end offset of each frame in it → its ticket. */
  private tickets = new WeakMap<ArrayBufferLike, Map<number, number>>();

  /** A frame arrived (a view on a buffer that no later frame overwrites). */
  stamp(frame: Uint8Array): number {
    const t = this.next++;
    let ends = this.tickets.get(frame.buffer);
    if (!ends) this.tickets.set(frame.buffer, (ends = new Map()));
    ends.set(frame.byteOffset + frame.byteLength, t);
    return t;
  }

  /**
   * The ticket of the frame an update payload was read from, if it came from a socket. A sync
   * frame ends with its payload, so the payload's end is the frame's end in the same buffer.
   */
  of(payload: Uint8Array): number | undefined {
    return this.tickets.get(payload.buffer)?.get(payload.byteOffset + payload.byteLength);
  }

  /** The order of something queued now without a frame: after every frame stamped so far. */
  now(): number {
    return this.next;
  }
}
