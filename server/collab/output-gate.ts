/**
 * Durable before anyone sees it: every frame the server sends on a `/collab` socket passes this gate.
 * While the write queue holds something that is not durable yet, frames are held (per socket, in
 * order) and released when the batch they depend on (the one collecting when they were sent, or the
 * newest committed one when nothing is queued) is durable: committed and, with
 * `SQLITE_SYNCHRONOUS=FULL`, its WAL fsynced (wal-sync.ts).
 *
 * Why a gate on the output rather than a wait in `beforeSync`: Hocuspocus sends the author's
 * "synced" acknowledgement in the same call stack that applies the update, and broadcasts it to the
 * other members from the document's own `update` handler (registered before any extension's). Both
 * are sends on a socket. Holding sends covers the acknowledgement, the broadcast, server writes
 * (receipts, moves, mirrors) and anything else, with no change to Hocuspocus and no await between
 * validation and apply (so an update is validated against exactly the state it is applied to).
 *
 * Frames are held only while a write is pending, so an idle server adds nothing; a held frame waits
 * one event-loop turn plus one commit (and its fsync).
 */
import type { WebSocket } from 'ws';
import type { WriteQueue } from './write-queue.ts';

interface Held {
  epoch: number;
  data: Uint8Array | Buffer;
  /** performance.now() when it was held: the fan-out latency is measured from here */
  at: number;
}

type RawSend = (data: Uint8Array | Buffer) => void;

export class OutputGate {
  private held = new Map<WebSocket, { raw: RawSend; frames: Held[] }>();
  holds = 0;

  /** `observe(seconds)`: once per socket and release, how long its oldest released frame waited. */
  constructor(private queue: WriteQueue, private observe: (seconds: number) => void = () => {}) {}

  /** Routes `ws.send` through the gate (binary frames only: that is all the protocol uses). */
  wrap(ws: WebSocket): void {
    const raw: RawSend = ws.send.bind(ws) as RawSend;
    (ws as unknown as { send: (data: Uint8Array | Buffer) => void }).send = (data) => this.send(ws, raw, data);
  }

  private send(ws: WebSocket, raw: RawSend, data: Uint8Array | Buffer): void {
    const h = this.held.get(ws);
    if (!h && !this.queue.dirty) return raw(data);
    // copy: Hocuspocus may reuse one buffer for a whole broadcast, which is fine, but an encoder's
    // buffer must not change under us while it waits
    const frame = { epoch: this.queue.pendingEpoch, data, at: performance.now() };
    this.holds++;
    if (h) h.frames.push(frame);
    else this.held.set(ws, { raw, frames: [frame] });
  }

  /** Batch `epoch` is durable: send what waited for it (and what queued behind it on the same socket). */
  release(epoch: number): void {
    const now = performance.now();
    for (const [ws, h] of this.held) {
      let i = 0;
      while (i < h.frames.length && h.frames[i].epoch <= epoch) i++;
      if (i === 0) continue;
      const out = h.frames.splice(0, i);
      if (h.frames.length === 0) this.held.delete(ws);
      if (ws.readyState !== ws.OPEN) continue;
      this.observe((now - out[0].at) / 1000);
      if (out.length === 1) {
        h.raw(out[0].data);
        continue;
      }
      // many frames for one socket (a batch under load): one write to the kernel, not one each
      const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      socket?.cork();
      for (const f of out) h.raw(f.data);
      socket?.uncork();
    }
  }

  /** A socket is gone, or its state must not be sent (a failed commit): drop what it waits for. */
  discard(ws: WebSocket): void {
    this.held.delete(ws);
  }
}
