/**
 * A TCP proxy for chaos tests (node:net, no dependencies): clients connect to it instead of the
 * server, and a seeded PRNG decides what happens to their traffic.
 *
 * - Delays: each chunk may wait a random extra time. Release times within one direction of one
 *   connection only grow, so bytes are never reordered or dropped while the connection lives: TCP's
 *   promise holds. Reordering happens between connections (and between the two directions of one).
 * - Holds: a whole connection (or one direction) is frozen for a while as others flow; its bytes then
 *   arrive late, in order, relative to other clients' traffic.
 * - Cuts: both sockets are destroyed and their queued bytes dropped, like a network failure.
 * - Partitions: all connections of one client (tagged by `?client=<tag>` in the upgrade request's URL)
 *   are cut and its new connections refused for a while (the client is offline).
 * - Upstream: `setUpstream(port)` points new connections at a restarted server; with `null` every new
 *   connection is refused (the server is down).
 *
 * Lifecycle of a connection: client connects → the first chunk (the HTTP upgrade) names the tag →
 * refused (destroyed) or an upstream socket is opened → bytes flow through two FIFO queues → when one
 * side ends or fails, what was already received from it is still delivered, then the other side is
 * ended; a cut ends both at once.
 */
import net from 'node:net';

export type Random = () => number;

/** Mulberry32: a small seeded PRNG (the convergence test uses the same). */
export function mulberry32(seed: number): Random {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChaosSettings {
  /** Chance that a chunk gets an extra delay, uniform in [0, maxDelayMs]. */
  delayChance: number;
  maxDelayMs: number;
  /** Per connection and per tick: chance of a cut, and of a hold of [minHoldMs, maxHoldMs]. */
  cutChance: number;
  holdChance: number;
  minHoldMs: number;
  maxHoldMs: number;
  tickMs: number;
}

export const CALM: ChaosSettings = { delayChance: 0, maxDelayMs: 0, cutChance: 0, holdChance: 0, minHoldMs: 0, maxHoldMs: 0, tickMs: 100 };

export interface ProxyStats {
  connections: number;
  refused: number;
  cuts: number;
  holds: number;
  delayedChunks: number;
  chunks: number;
  bytes: number;
  partitions: number;
}

type Item = Buffer | 'end';

/** One direction of a connection: a FIFO whose release times never decrease. */
class Lane {
  private queue: { item: Item; at: number }[] = [];
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ending = false;
  private heldUntil = 0;

  /** `done` is called once, when this direction is finished (ended, or its receiver is gone). */
  constructor(private out: () => net.Socket | null, private done: () => void) {}

  push(item: Item, delay: number) {
    if (this.ending) return;
    if (item === 'end') this.ending = true;
    const at = Math.max(this.lastAt, Date.now() + delay, this.heldUntil);
    this.lastAt = at;
    this.queue.push({ item, at });
    this.schedule();
  }

  hold(until: number) {
    this.heldUntil = Math.max(this.heldUntil, until);
    // queued chunks move back too, keeping their order
    for (const q of this.queue) q.at = Math.max(q.at, this.heldUntil);
    this.lastAt = Math.max(this.lastAt, this.heldUntil);
    this.schedule();
  }

  private schedule() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.queue.length) return;
    this.timer = setTimeout(() => this.pump(), Math.max(0, this.queue[0].at - Date.now()));
  }

  private pump() {
    this.timer = null;
    const now = Date.now();
    while (this.queue.length && this.queue[0].at <= now) {
      const { item } = this.queue.shift()!;
      const out = this.out();
      if (!out || out.destroyed) return this.stop();
      if (item === 'end') {
        out.end();
        return this.stop();
      }
      out.write(item);
    }
    this.schedule();
  }

  /** Drops what is queued; this direction is finished. */
  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.ending = true;
    const done = this.done;
    this.done = () => {};
    done();
  }
}

class Proxied {
  upstream: net.Socket | null = null;
  readonly up: Lane; // client → server
  readonly down: Lane; // server → client
  closed = false;
  private finished = 0;

  constructor(readonly tag: string, readonly client: net.Socket, private onGone: (c: Proxied) => void) {
    this.up = new Lane(() => this.upstream, () => this.laneDone());
    this.down = new Lane(() => this.client, () => this.laneDone());
  }

  private laneDone() {
    if (++this.finished >= 2) this.destroy();
  }

  destroy() {
    if (this.closed) return;
    this.closed = true;
    this.up.stop();
    this.down.stop();
    this.client.destroy();
    this.upstream?.destroy();
    this.onGone(this);
  }
}

export class ChaosProxy {
  private server: net.Server;
  private live = new Set<Proxied>();
  private accepted = new Set<net.Socket>();
  private partitioned = new Map<string, number>();
  private settings: ChaosSettings = CALM;
  private ticker: NodeJS.Timeout | null = null;
  readonly stats: ProxyStats = { connections: 0, refused: 0, cuts: 0, holds: 0, delayedChunks: 0, chunks: 0, bytes: 0, partitions: 0 };

  constructor(private random: Random, private upstreamPort: number | null, private host = '127.0.0.1') {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, this.host, resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Where new connections go; `null` refuses them (the server is down). Existing ones are kept. */
  setUpstream(port: number | null) {
    this.upstreamPort = port;
  }

  /** Replaces the chaos settings; `CALM` forwards everything at once and cuts nothing. */
  setChaos(settings: ChaosSettings) {
    this.settings = settings;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    if (settings.cutChance > 0 || settings.holdChance > 0) this.ticker = setInterval(() => this.tick(), settings.tickMs);
  }

  get connectionCount() {
    return this.live.size;
  }

  /** Cuts every live connection (both sockets destroyed, queued bytes dropped). */
  cutAll(): number {
    const n = this.live.size;
    for (const c of [...this.live]) this.cut(c);
    return n;
  }

  /** Cuts the client's connections and refuses its new ones for `ms`. */
  partition(tag: string, ms: number) {
    this.stats.partitions++;
    this.partitioned.set(tag, Math.max(this.partitioned.get(tag) ?? 0, Date.now() + ms));
    for (const c of [...this.live]) if (c.tag === tag) this.cut(c);
  }

  isPartitioned(tag: string) {
    return (this.partitioned.get(tag) ?? 0) > Date.now();
  }

  healAll() {
    this.partitioned.clear();
  }

  async close() {
    this.setChaos(CALM);
    this.upstreamPort = null;
    this.cutAll();
    for (const s of this.accepted) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private cut(c: Proxied) {
    if (c.closed) return;
    this.stats.cuts++;
    c.destroy();
  }

  private tick() {
    const s = this.settings;
    for (const c of [...this.live]) {
      const r = this.random();
      if (r < s.cutChance) this.cut(c);
      else if (r < s.cutChance + s.holdChance) {
        this.stats.holds++;
        const until = Date.now() + s.minHoldMs + Math.floor(this.random() * (s.maxHoldMs - s.minHoldMs));
        // one direction or both: either way each direction's bytes stay in order
        const which = this.random();
        if (which < 0.6) {
          c.up.hold(until);
          c.down.hold(until);
        } else if (which < 0.8) c.up.hold(until);
        else c.down.hold(until);
      }
    }
  }

  private delay(): number {
    const s = this.settings;
    if (s.delayChance <= 0 || this.random() >= s.delayChance) return 0;
    this.stats.delayedChunks++;
    return Math.floor(this.random() * s.maxDelayMs);
  }

  private accept(client: net.Socket) {
    // every accepted socket, also those still waiting for their first chunk, so close() can end them
    this.accepted.add(client);
    client.once('close', () => this.accepted.delete(client));
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    client.once('data', (first: Buffer) => {
      const tag = /^GET [^ ]*[?&]client=([A-Za-z0-9_-]+)/.exec(first.toString('latin1', 0, Math.min(first.length, 512)))?.[1] ?? '';
      const port = this.upstreamPort;
      if (port === null || this.isPartitioned(tag)) {
        this.stats.refused++;
        client.destroy();
        return;
      }
      this.stats.connections++;
      const c = new Proxied(tag, client, (gone) => this.live.delete(gone));
      this.live.add(c);
      const upstream = net.connect({ port, host: this.host, allowHalfOpen: true });
      upstream.setNoDelay(true);
      upstream.on('error', () => upstream.destroy());
      c.upstream = upstream;
      const forward = (lane: Lane) => (chunk: Buffer) => {
        this.stats.chunks++;
        this.stats.bytes += chunk.length;
        lane.push(chunk, this.delay());
      };
      forward(c.up)(first);
      client.on('data', forward(c.up));
      upstream.on('data', forward(c.down));
      // What one side already sent is still delivered, then the other side is ended.
      client.on('end', () => c.up.push('end', 0));
      upstream.on('end', () => c.down.push('end', 0));
      client.on('close', () => {
        c.up.push('end', 0);
        c.down.stop();
      });
      upstream.on('close', () => {
        c.down.push('end', 0);
        c.up.stop();
      });
    });
  }
}
