/**
 * The message search of the signed-in app: the query and filters the user is typing, and the
 * results shown for them. Created once by the signed-in layout (so results survive a visit to a
 * result and the way back) and read through context.
 *
 * Where results come from:
 * - online: the server (`/api/search`), page by page as the reader scrolls; messages only this
 *   device has (written here, not acknowledged yet) follow the server's, each message once;
 * - offline, or when the server cannot be reached: the device's own copies (`LocalMessages`),
 *   searched with the same tokenizer and ranking, and the view says so;
 * - rate-limited (`429`): the device's results at once, and the server is asked again after its
 *   `Retry-After`. Typing is debounced and the tab's own budget stays under the published limit
 *   (`SearchBudget`), so that a fast typist never meets the server's limit at all.
 */
import { getContext, setContext } from 'svelte';
import { ApiError } from '$lib/api/client.ts';
import { errorText } from '$lib/i18n/index.ts';
import { PAGE_SIZE, searchServer } from './api.ts';
import { SearchBudget, type SearchLimit } from './budget.ts';
import type { LocalMessages } from './local-copies.ts';
import { mergeHits, NO_FILTERS, searchEntries, type SearchFilters, type SearchHit } from './results.ts';

export interface MessageSearchDeps {
  online(): boolean;
  limit(): SearchLimit;
  /** The device's messages (null while signed out). */
  local(): LocalMessages | null;
  /** Per room: messages received before it are erased by retention. */
  horizon(roomId: string): number;
}

/** Where the shown results come from, and why. */
export type SearchSource = 'server' | 'offline' | 'unreachable' | 'rate-limited';

const TYPING_DEBOUNCE_MS = 450;
const FILTER_DEBOUNCE_MS = 150;
/** Results of the device are shown this many at a time (they are all known at once). */
const DEVICE_PAGE = 50;
/** The server pages up to this offset. */
const MAX_OFFSET = 10_000;

export class MessageSearch {
  query = $state('');
  filters = $state<SearchFilters>({ ...NO_FILTERS });
  /** The query the shown results answer ('' before the first search). */
  shownQuery = $state('');
  status = $state<'idle' | 'searching' | 'done' | 'error'>('idle');
  source = $state<SearchSource>('server');
  error = $state<string | null>(null);
  /** Rate-limited: seconds until the server is asked again. */
  retryIn = $state(0);
  total = $state(0);
  totalCapped = $state(false);
  loadingMore = $state(false);
  private serverHits = $state.raw<SearchHit[]>([]);
  private deviceHits = $state.raw<SearchHit[]>([]);
  private deviceShown = $state(DEVICE_PAGE);
  private serverDone = $state(false);

  fromDevice = $derived(this.source !== 'server');
  hits = $derived(this.fromDevice ? this.deviceHits.slice(0, this.deviceShown) : mergeHits(this.serverHits, this.deviceHits));
  /** Results of the device (all of them, when the server is not asked). */
  deviceTotal = $derived(this.deviceHits.length);
  hasMore = $derived(this.fromDevice ? this.deviceHits.length > this.deviceShown : !this.serverDone && this.serverHits.length < this.total);

  private deps: MessageSearchDeps;
  private budget: SearchBudget;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setInterval> | null = null;
  /** Bumped by every new search: answers to older ones are ignored. */
  private generation = 0;

  constructor(deps: MessageSearchDeps) {
    this.deps = deps;
    this.budget = new SearchBudget(() => deps.limit());
  }

  /** Typing: searched once the user pauses. */
  setQuery(query: string): void {
    this.query = query;
    this.schedule(TYPING_DEBOUNCE_MS);
  }

  setFilters(patch: Partial<SearchFilters>): void {
    this.filters = { ...this.filters, ...patch };
    this.schedule(FILTER_DEBOUNCE_MS);
  }

  /** Enter, or the page opened with a query: at once (still within the budget). */
  submit(): void {
    this.schedule(0);
  }

  /** The network came back: results from the device give way to the server's. */
  onOnline(): void {
    if (this.shownQuery && (this.source === 'offline' || this.source === 'unreachable')) this.schedule(0);
  }

  reset(): void {
    this.generation++;
    this.clearTimers();
    this.query = '';
    this.filters = { ...NO_FILTERS };
    this.clearResults();
  }

  /** The search page closes: nothing more arrives (the results stay for the way back). */
  destroy(): void {
    this.generation++;
    this.clearTimers();
    this.loadingMore = false;
  }

  async loadMore(): Promise<void> {
    if (!this.hasMore || this.loadingMore || this.status !== 'done') return;
    if (this.fromDevice) {
      this.deviceShown += DEVICE_PAGE;
      return;
    }
    const gen = this.generation;
    const offset = this.serverHits.length;
    if (offset >= MAX_OFFSET || this.budget.wait(Date.now()) > 0) return;
    this.loadingMore = true;
    try {
      this.budget.take(Date.now());
      const page = await searchServer(this.shownQuery, this.filters, offset, PAGE_SIZE);
      if (gen !== this.generation) return;
      this.budget.ok();
      const known = new Set(this.serverHits.map((h) => `${h.roomId}|${h.messageId}`));
      this.serverHits = [...this.serverHits, ...page.hits.filter((h) => !known.has(`${h.roomId}|${h.messageId}`))];
      this.total = page.total;
      this.totalCapped = page.totalCapped;
      if (page.hits.length < PAGE_SIZE) this.serverDone = true;
    } catch (e) {
      if (gen !== this.generation) return;
      if (e instanceof ApiError && e.code === 'rate-limited') this.budget.limited(Date.now(), e.retryAfterSec);
      // the button stays: the reader may try again
    } finally {
      if (gen === this.generation) this.loadingMore = false;
    }
  }

  private schedule(delay: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, delay);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    this.retryIn = 0;
  }

  private clearResults(): void {
    this.shownQuery = '';
    this.status = 'idle';
    this.source = 'server';
    this.error = null;
    this.serverHits = [];
    this.deviceHits = [];
    this.total = 0;
    this.totalCapped = false;
    this.serverDone = false;
    this.loadingMore = false;
  }

  private async run(): Promise<void> {
    const query = this.query.trim();
    const filters = { ...this.filters };
    const gen = ++this.generation;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    this.retryIn = 0;
    if (!query) return this.clearResults();
    if (query !== this.shownQuery) this.deviceShown = DEVICE_PAGE;
    this.status = 'searching';
    this.error = null;
    // the device is searched in every case: alone offline, for its pending messages online
    if (!this.deps.online()) return this.showDevice(gen, query, await this.searchDevice(query, filters, false), 'offline');
    const wait = this.budget.wait(Date.now());
    if (wait > 0) return this.limited(gen, query, filters, wait);
    const device = this.searchDevice(query, filters, true);
    this.budget.take(Date.now());
    try {
      const [page, pending] = await Promise.all([searchServer(query, filters, 0, PAGE_SIZE), device]);
      if (gen !== this.generation) return;
      this.budget.ok();
      this.shownQuery = query;
      this.source = 'server';
      this.serverHits = page.hits;
      this.deviceHits = pending;
      this.total = page.total;
      this.totalCapped = page.totalCapped;
      this.serverDone = page.hits.length < PAGE_SIZE;
      this.status = 'done';
    } catch (e) {
      if (gen !== this.generation) return;
      if (e instanceof ApiError && e.code === 'network-error') return this.showDevice(gen, query, await this.searchDevice(query, filters, false), 'unreachable');
      if (e instanceof ApiError && e.code === 'rate-limited') return this.limited(gen, query, filters, this.budget.limited(Date.now(), e.retryAfterSec));
      this.shownQuery = query;
      this.status = 'error';
      this.error = e instanceof ApiError ? errorText(e.code, e.message) : errorText('internal-error');
      if (!(e instanceof ApiError)) console.error(e);
    }
  }

  /** No server request now: the device's results meanwhile, the server's once the wait is over. */
  private async limited(gen: number, query: string, filters: SearchFilters, waitMs: number): Promise<void> {
    const until = Date.now() + waitMs;
    this.retryIn = Math.ceil(waitMs / 1000);
    this.retryTimer = setInterval(() => {
      this.retryIn = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    }, 1000);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (gen === this.generation) void this.run();
    }, waitMs);
    this.showDevice(gen, query, await this.searchDevice(query, filters, false), 'rate-limited');
  }

  private showDevice(gen: number, query: string, hits: SearchHit[], source: SearchSource): void {
    if (gen !== this.generation) return;
    this.shownQuery = query;
    this.source = source;
    this.serverHits = [];
    this.deviceHits = hits;
    this.total = hits.length;
    this.totalCapped = false;
    this.serverDone = true;
    this.status = 'done';
  }

  private async searchDevice(query: string, filters: SearchFilters, pendingOnly: boolean): Promise<SearchHit[]> {
    const local = this.deps.local();
    if (!local) return [];
    try {
      return searchEntries(await local.entries(), query, { filters, horizon: (id) => this.deps.horizon(id), pendingOnly });
    } catch (e) {
      console.error(e); // the device's copies could not be read: nothing from them
      return [];
    }
  }
}

const KEY = Symbol('message-search');
export const setMessageSearch = (s: MessageSearch) => setContext(KEY, s);
export const getMessageSearch = () => getContext<MessageSearch | undefined>(KEY);
