/**
 * One page of a server-side listing (users, rooms, audit entries): the page shown, the total, and
 * loading state. A newer load wins over an older one still in flight (typing in the search field
 * fires several). A `404` means the caller is not (any more) a server admin: `denied` is set and
 * the dashboard shows the not-found view.
 */
import { ApiError } from '$lib/api/client.ts';
import { handleError } from '$lib/errors/handle-error.ts';
import type { Page } from './api.ts';

export const PAGE_SIZE = 25;

const SEARCH_DELAY_MS = 250;

export class PagedList<T> {
  /** The search field (users, rooms); the listing asks for it. */
  query = $state('');
  items = $state.raw<T[]>([]);
  total = $state(0);
  offset = $state(0);
  status = $state<'idle' | 'loading' | 'ready' | 'failed'>('idle');
  denied = $state(false);
  readonly limit: number = PAGE_SIZE;

  pages = $derived(Math.max(1, Math.ceil(this.total / this.limit)));
  page = $derived(Math.floor(this.offset / this.limit) + 1);

  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private fetchPage: (page: Page, query: string) => Promise<{ items: T[]; total: number }>;

  constructor(fetchPage: (page: Page, query: string) => Promise<{ items: T[]; total: number }>, limit = PAGE_SIZE) {
    this.fetchPage = fetchPage;
    this.limit = limit;
  }

  async load(offset = this.offset): Promise<void> {
    const seq = ++this.seq;
    this.status = 'loading';
    try {
      const { items, total } = await this.fetchPage({ limit: this.limit, offset }, this.query);
      if (seq !== this.seq) return;
      // the last page emptied (a deletion): step back to the one before
      if (items.length === 0 && offset > 0 && total > 0) return this.load(Math.max(0, (Math.ceil(total / this.limit) - 1) * this.limit));
      this.items = items;
      this.total = total;
      this.offset = offset;
      this.status = 'ready';
    } catch (e) {
      if (seq !== this.seq) return;
      this.status = 'failed';
      if (e instanceof ApiError && e.status === 404) this.denied = true;
      else handleError(e);
    }
  }

  /** Typing in the search field: one request once the typing pauses. */
  search(query: string): void {
    this.query = query;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => ((this.timer = null), void this.reload()), SEARCH_DELAY_MS);
  }

  destroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.seq++;
  }

  /** From the first page (a new search or filter). */
  reload = () => this.load(0);
  next = () => this.load(this.offset + this.limit);
  prev = () => this.load(Math.max(0, this.offset - this.limit));

  /** One item changed on the server: shown at once, without a reload. */
  replace(match: (item: T) => boolean, next: T): void {
    this.items = this.items.map((item) => (match(item) ? next : item));
  }
}
