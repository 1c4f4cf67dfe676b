/**
 * The user's outbound files: every entry path (attach button, camera, drag and drop, paste) adds
 * them here through `enqueue`, and here they wait, upload, get scanned and go out as messages.
 *
 * - Persistent: each item (with its Blob) is in IndexedDB (`UploadStore`) before anything else
 *   happens, so a reload, a browser restart or a crash resumes it; offline it simply waits.
 * - Paced and bounded: at most two uploads at a time (`p-queue`), under the server's published
 *   upload rate (`rateLimits.upload`, 90 % of it, like the write budget); a `rate-limited` answer is
 *   waited out, never a loss. Network and server errors back off and retry; `online` retries at once.
 * - One file, one message: once the server has the file clean, the message (pre-generated id and
 *   `createdAt` from the moment it was added) goes into the room's outbox, the same path as a text
 *   post, and the item is done. A message refused for its token comes back (`refused`) and goes out
 *   again with a fresh token from the job endpoint.
 * - One tab runs the queue (Web Lock `msgr:<userId>:uploads`, where available); the user's other
 *   tabs show the same items (read from IndexedDB) and progress through a BroadcastChannel, and
 *   may add, cancel, retry or dismiss.
 *
 * Lifecycle: `use(deps)` at sign-in, `use(null)` at sign-out (aborts uploads, closes the database
 * so that the logout wipe can delete it).
 */
import PQueue from 'p-queue';
import { ApiError } from '$lib/api/client.ts';
import type { PublicConfig } from '$lib/api/types.ts';
import { endsSession } from '$lib/errors/handle-error.ts';
import { uploadsChannelName } from '$lib/local/keys.ts';
import { checkMessageShape, type Attachment, type Message } from '$lib/protocol/schema';
import { precheck, uploadConfig } from './limits.ts';
import {
  afterError,
  afterJob,
  afterRefusal,
  afterUpload,
  backoffMs,
  fail,
  newRecord,
  nextStep,
  pollDelayMs,
  retry,
  type Step,
  type UploadRecord,
} from './queue-state.ts';
import { sendFile, UploadError, uploadJob } from './upload-api.ts';
import { openUploadStore, type UploadStore } from './upload-store.ts';

export interface UploadDeps {
  userId: string;
  config(): PublicConfig | null;
  /** A new message id and `createdAt` (the device's increasing clock). */
  newId(): string;
  createdAt(): number;
  /** Writes the message through the room's outbox (pending at once, paced). */
  post(roomId: string, msg: Message): void;
  /** The message is in the outbox already (the tab died between posting and forgetting the item). */
  queued(roomId: string, messageId: string): boolean;
  /** The session is over (`unauthorized` on an upload): the funnel runs the logout flow. */
  sessionEnded(error: unknown): void;
  /** Fetches `/api/config` again (the server refused by a limit this tab did not know yet). */
  refreshConfig(): Promise<void>;
}

type TabMessage = { t: 'changed' } | { t: 'progress'; id: string; f: number } | { t: 'cancel'; id: string };

const CONCURRENCY = 2;
/** A message may not be written yet (its caption's limit is unknown): look again after this. */
const LATER_MS = 1000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export class UploadQueue {
  /** Every item of the signed-in user, oldest first. */
  items = $state.raw<UploadRecord[]>([]);
  /** Upload progress (0..1) of items being uploaded now, by item id. */
  progress = $state.raw<Record<string, number>>({});
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);

  private deps: UploadDeps | null = null;
  private store: UploadStore | null = null;
  private channel: BroadcastChannel | null = null;
  /** Bumped by `use`: work of the previous user stops. */
  private epoch = 0;
  private uploads = new PQueue({ concurrency: CONCURRENCY });
  /** Items with a step under way in this tab, and how to abort it. */
  private active = new Map<string, AbortController>();
  /** This tab runs the queue now (holds the lock). */
  private holder = false;
  private pumping = false;
  private release: (() => void) | null = null;
  private wakeTimer: ReturnType<typeof setTimeout> | null = null;
  /** No new step for an item before this time (back-off, scan polling). */
  private notBefore = new Map<string, number>();
  private polls = new Map<string, number>();
  /** Items IndexedDB would not take (full, disabled): kept for this tab's life only. */
  private memoryOnly = new Map<string, UploadRecord>();
  /** When this tab's recent uploads started (the client side of `rateLimits.upload`). */
  private started: number[] = [];
  /** Refusals per file id of messages this queue wrote (a loop guard across re-sends). */
  private refusalsByFile = new Map<string, number>();

  constructor() {
    if (typeof window === 'undefined') return;
    window.addEventListener('online', () => {
      this.online = true;
      this.notBefore.clear(); // the network is back: no reason to sit out a back-off
      this.kick();
    });
    window.addEventListener('offline', () => (this.online = false));
  }

  use(deps: UploadDeps | null): void {
    this.epoch++;
    for (const c of this.active.values()) c.abort();
    this.active.clear();
    this.uploads.clear();
    this.release?.();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    this.store?.close();
    this.channel?.close();
    this.store = null;
    this.channel = null;
    this.items = [];
    this.progress = {};
    this.memoryOnly.clear();
    this.notBefore.clear();
    this.polls.clear();
    this.refusalsByFile.clear();
    this.deps = deps;
    if (!deps) return;
    this.store = openUploadStore(deps.userId);
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(uploadsChannelName(deps.userId));
      this.channel.onmessage = (e: MessageEvent<TabMessage>) => this.onTabMessage(e.data);
    }
    const epoch = this.epoch;
    void this.reload().then(() => epoch === this.epoch && this.kick());
  }

  /** The items of one room, in the order they were added. */
  of(roomId: string): UploadRecord[] {
    return this.items.filter((r) => r.roomId === roomId);
  }

  /** Items that will still go out (for "you have unsent messages" at logout). */
  pendingCount(): number {
    return this.items.filter((r) => r.phase !== 'failed').length;
  }

  /**
   * Adds files to a room's queue: each is checked against the server's limits first (a refused
   * one is shown with the reason, never uploaded), then kept on the device and sent.
   */
  async enqueue(roomId: string, files: Iterable<File>, caption = ''): Promise<void> {
    const deps = this.deps;
    if (!deps) return;
    const epoch = this.epoch;
    // ids and times now, in the order given: the moment the user added them is their writing order
    const added = Array.from(files, (file) => ({ file, id: deps.newId(), messageId: deps.newId(), createdAt: deps.createdAt() }));
    for (const [i, { file, ...stamp }] of added.entries()) {
      const refused = precheck(file, deps.config());
      const size = refused ? null : await imageSize(file);
      if (epoch !== this.epoch) return;
      const record = newRecord(
        { ...stamp, roomId, caption: i === 0 ? caption : '', file: { name: file.name, type: file.type, size: file.size }, blob: file, ...size },
        refused,
      );
      await this.insert(record);
      this.kick();
    }
  }

  /** Stops the item wherever it is (aborting its upload) and forgets it; nothing is sent. */
  cancel(id: string): void {
    this.active.get(id)?.abort();
    this.active.delete(id);
    this.broadcast({ t: 'cancel', id });
    void this.remove(id);
  }

  /** A failed item the user has read: gone. */
  dismiss(id: string): void {
    this.cancel(id);
  }

  /** The user is not in the room any more: its files will never go (their bytes leave the device). */
  forgetRoom(roomId: string): void {
    for (const r of this.of(roomId)) this.cancel(r.id);
  }

  retry(id: string): void {
    const r = this.find(id);
    const next = r && retry(r);
    if (!next) return;
    this.notBefore.delete(id);
    void this.update(next).then(() => this.kick());
  }

  /**
   * The server refused a message of ours that carries files (docs/PROTOCOL.md: a token expired,
   * was used, is invalid, or the file is not ready). Each file goes out again in a new message
   * with a fresh token from the job endpoint; other refusals are shown on the item.
   */
  refused(roomId: string, msg: Message, code: string): void {
    const deps = this.deps;
    if (!deps || !msg.attachments?.length) return;
    msg.attachments.forEach((a, i) => {
      const refusals = this.refusalsByFile.get(a.id) ?? 0;
      const base: UploadRecord = {
        id: deps.newId(),
        messageId: msg.id,
        roomId,
        createdAt: msg.createdAt,
        caption: i === 0 ? msg.text : '',
        name: a.name,
        type: a.type,
        size: a.size,
        blob: null,
        ...(a.width && a.height ? { width: a.width, height: a.height } : {}),
        file: { id: a.id, name: a.name, size: a.size, type: a.type, ...(a.width && a.height ? { width: a.width, height: a.height } : {}), thumb: false },
        token: null,
        tokenAt: 0,
        phase: 'scanning',
        error: null,
        attempts: 0,
        refusals,
      };
      const next = afterRefusal(base, code, deps.newId());
      this.refusalsByFile.set(a.id, next.refusals);
      void this.insert(next);
    });
    this.kick();
  }

  // ---- running the queue (one tab at a time) ---------------------------------------------------

  /** Makes sure some tab runs the queue: this one if it can take the lock. */
  private kick(): void {
    if (!this.deps) return;
    if (this.holder) return this.schedule();
    if (this.pumping) return;
    this.pumping = true;
    const epoch = this.epoch;
    const userId = this.deps.userId;
    const run = async () => {
      if (epoch !== this.epoch) return;
      this.holder = true;
      try {
        await this.reload(); // another tab may have left work half done
        if (epoch !== this.epoch) return;
        // a step shown as under way in a tab that is gone is not under way any more
        for (const r of this.items) if (r.phase === 'uploading') this.set({ ...r, phase: 'waiting' });
        await new Promise<void>((resolve) => {
          this.release = resolve;
          this.schedule();
        });
      } finally {
        this.holder = false;
        this.release = null;
      }
    };
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    (locks ? locks.request(`msgr:${userId}:uploads`, run) : run())
      .catch((e: unknown) => console.error(e))
      .finally(() => {
        this.pumping = false;
        if (epoch === this.epoch && this.hasWork()) this.kick(); // added while the lock was let go
      });
  }

  /** Starts every step that may run now; lets the lock go when nothing is left to do or wait for. */
  private schedule(): void {
    if (!this.holder || !this.deps) return;
    const now = Date.now();
    const ttl = uploadConfig(this.deps.config())?.tokenTtlSec ?? null;
    let wake = Infinity;
    for (const r of this.items) {
      if (this.active.has(r.id)) continue;
      const step = nextStep(r, now, ttl);
      if (step === 'none' || (step !== 'post' && !this.online)) continue;
      const at = this.notBefore.get(r.id) ?? 0;
      if (at > now) {
        wake = Math.min(wake, at);
        continue;
      }
      this.start(r.id, step);
    }
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = wake < Infinity ? setTimeout(() => this.schedule(), wake - now) : null;
    if (this.active.size === 0 && wake === Infinity) this.release?.();
  }

  private hasWork(): boolean {
    const ttl = uploadConfig(this.deps?.config() ?? null)?.tokenTtlSec ?? null;
    return this.items.some((r) => {
      const step = nextStep(r, Date.now(), ttl);
      return step === 'post' || (step !== 'none' && this.online);
    });
  }

  private start(id: string, step: Step): void {
    const ctl = new AbortController();
    this.active.set(id, ctl);
    const epoch = this.epoch;
    const task =
      step === 'upload'
        ? this.uploads.add(() => this.upload(id, ctl.signal, epoch), { signal: ctl.signal })
        : step === 'poll'
          ? this.poll(id, ctl.signal, epoch)
          : this.post(id, epoch);
    void task
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) console.error(e);
      })
      .finally(() => {
        if (this.active.get(id) === ctl) this.active.delete(id);
        if (epoch === this.epoch) this.schedule();
      });
  }

  private async upload(id: string, signal: AbortSignal, epoch: number): Promise<void> {
    await this.pace(signal);
    const r = this.find(id);
    if (!r?.blob || signal.aborted || epoch !== this.epoch || !this.online) return;
    await this.update({ ...r, phase: 'uploading' });
    this.started.push(Date.now());
    try {
      const res = await sendFile(r.roomId, r.blob, r.name, { signal, onProgress: (loaded, total) => this.setProgress(id, total > 0 ? loaded / total : 0) });
      const now = this.find(id);
      if (signal.aborted || epoch !== this.epoch || !now) return;
      await this.update(afterUpload(now, res, Date.now()));
    } catch (e) {
      if (signal.aborted || epoch !== this.epoch) return;
      await this.failed(id, e);
    } finally {
      this.setProgress(id, null);
    }
  }

  private async poll(id: string, signal: AbortSignal, epoch: number): Promise<void> {
    const r = this.find(id);
    if (!r?.file) return;
    try {
      const res = await uploadJob(r.file.id);
      const now = this.find(id);
      if (signal.aborted || epoch !== this.epoch || !now) return;
      const next = afterJob(now, res, Date.now());
      if (next === 'done') return void (await this.remove(id)); // the file is in a message already
      await this.update(next);
      if (next.phase === 'scanning') {
        const n = this.polls.get(id) ?? 0;
        this.polls.set(id, n + 1);
        this.notBefore.set(id, Date.now() + pollDelayMs(n));
      }
    } catch (e) {
      if (signal.aborted || epoch !== this.epoch) return;
      await this.failed(id, e);
    }
  }

  /** The file is clean and we hold a fresh token: the message goes into the outbox. */
  private async post(id: string, epoch: number): Promise<void> {
    const deps = this.deps;
    // cancelled in another tab? (IndexedDB is what the tabs share)
    const stored = this.memoryOnly.has(id) ? true : await this.store?.get(id).catch(() => null);
    const r = this.find(id);
    if (!deps || epoch !== this.epoch || !r?.file || !r.token) return;
    if (stored === undefined) return void (await this.remove(id)); // cancelled in another tab
    if (!stored) return void this.notBefore.set(id, Date.now() + LATER_MS); // IndexedDB failed: ask again
    const maxChars = deps.config()?.messages.maxChars ?? null;
    if (r.caption && maxChars === null) {
      this.notBefore.set(id, Date.now() + LATER_MS); // the caption's limit comes from the server
      return;
    }
    const msg: Message = { id: r.messageId, author: deps.userId, text: r.caption, createdAt: r.createdAt, attachments: [attachmentOf(r)] };
    const code = checkMessageShape(msg.id, msg, maxChars ?? Infinity);
    if (code) return void (await this.update(fail(r, { code, retryable: false })));
    if (!deps.queued(r.roomId, msg.id)) deps.post(r.roomId, msg);
    await this.remove(id);
  }

  /** An upload or a job poll failed: wait and retry, or show the verdict. */
  private async failed(id: string, e: unknown): Promise<void> {
    const r = this.find(id);
    if (!r) return;
    const code = e instanceof ApiError ? e.code : 'internal-error';
    if (!(e instanceof ApiError)) console.error(e);
    if (endsSession(code)) return this.deps?.sessionEnded(e);
    let next = afterError(r, code, e instanceof ApiError ? e.status : 0, e instanceof ApiError ? e.message : undefined);
    const error = next.error;
    if (error && (code === 'file-too-large' || code === 'file-type-not-allowed')) {
      // our copy of the limits was old: learn the new ones, and say them
      await this.deps?.refreshConfig();
      const limits = uploadConfig(this.deps?.config() ?? null);
      if (limits) next = { ...next, error: code === 'file-too-large' ? { ...error, limit: limits.maxBytes } : { ...error, allowed: Object.keys(limits.types) } };
    }
    if (next.phase !== 'failed') {
      const retryAfter = e instanceof UploadError ? e.retryAfterMs : null;
      this.notBefore.set(id, Date.now() + (retryAfter ?? backoffMs(next.attempts)));
    }
    await this.update(next);
  }

  /** Waits until one more upload stays under the server's published upload rate. */
  private async pace(signal: AbortSignal): Promise<void> {
    for (;;) {
      const limit = this.deps?.config()?.rateLimits?.upload;
      if (!limit || signal.aborted) return;
      const points = Math.max(1, Math.floor(limit.points * 0.9));
      const windowMs = limit.durationSec * 1000 + 1000;
      const now = Date.now();
      this.started = this.started.filter((t) => t > now - windowMs);
      if (this.started.length < points) return;
      await sleep(this.started[0] + windowMs - now, signal);
    }
  }

  // ---- state, storage, other tabs -------------------------------------------------------------

  private find(id: string): UploadRecord | undefined {
    return this.items.find((r) => r.id === id);
  }

  /** In memory (shown at once), in creation order. */
  private set(record: UploadRecord): void {
    const rest = this.items.filter((r) => r.id !== record.id);
    this.items = [...rest, record].sort((a, b) => a.createdAt - b.createdAt);
  }

  private async save(record: UploadRecord): Promise<void> {
    if (!this.store) return;
    try {
      await this.store.put(record);
      this.memoryOnly.delete(record.id);
    } catch (e) {
      console.error(e); // IndexedDB refused (quota, disabled): this tab still sends it
      this.memoryOnly.set(record.id, record);
    }
  }

  /** A new state of an item still in the queue (one cancelled meanwhile stays gone). */
  private async update(record: UploadRecord): Promise<void> {
    if (!this.find(record.id)) return;
    await this.insert(record);
  }

  private async insert(record: UploadRecord): Promise<void> {
    this.set(record);
    await this.save(record);
    this.broadcast({ t: 'changed' });
  }

  private async remove(id: string): Promise<void> {
    this.items = this.items.filter((r) => r.id !== id);
    this.memoryOnly.delete(id);
    this.notBefore.delete(id);
    this.polls.delete(id);
    this.setProgress(id, null);
    try {
      await this.store?.delete(id);
    } catch (e) {
      console.error(e);
    }
    this.broadcast({ t: 'changed' });
  }

  private setProgress(id: string, f: number | null): void {
    const { [id]: _old, ...rest } = this.progress;
    this.progress = f === null ? rest : { ...rest, [id]: f };
    if (f !== null) this.broadcast({ t: 'progress', id, f });
  }

  /** IndexedDB is what the tabs share; steps under way here keep their newer in-memory state. */
  private async reload(): Promise<void> {
    const store = this.store;
    if (!store) return;
    let stored: UploadRecord[];
    try {
      stored = await store.all();
    } catch (e) {
      console.error(e);
      return;
    }
    if (store !== this.store) return;
    const mine = new Map(this.items.filter((r) => this.active.has(r.id) || this.memoryOnly.has(r.id)).map((r) => [r.id, r]));
    const merged = stored.filter((r) => !mine.has(r.id)).concat([...mine.values()]);
    this.items = merged.sort((a, b) => a.createdAt - b.createdAt);
  }

  private broadcast(msg: TabMessage): void {
    try {
      this.channel?.postMessage(msg);
    } catch {
      // the channel closed under us (sign-out)
    }
  }

  private onTabMessage(msg: TabMessage): void {
    if (msg.t === 'progress') {
      this.progress = { ...this.progress, [msg.id]: msg.f };
      return;
    }
    if (msg.t === 'cancel') {
      this.active.get(msg.id)?.abort();
      this.active.delete(msg.id);
    }
    const epoch = this.epoch;
    void this.reload().then(() => epoch === this.epoch && this.kick());
  }
}

function attachmentOf(r: UploadRecord): Attachment {
  const f = r.file!;
  return { id: f.id, token: r.token!, name: f.name, size: f.size, type: f.type, ...(f.width && f.height ? { width: f.width, height: f.height } : {}) };
}

/** An image's own pixel size, read on the device (for a preview that does not jump); else nothing. */
async function imageSize(file: File): Promise<{ width: number; height: number } | null> {
  if (!file.type.startsWith('image/') || typeof createImageBitmap !== 'function') return null;
  try {
    const bitmap = await createImageBitmap(file);
    const size = { width: bitmap.width, height: bitmap.height };
    bitmap.close();
    return size.width > 0 && size.height > 0 ? size : null;
  } catch {
    return null; // not decodable here (e.g. HEIC): shown as a file
  }
}
