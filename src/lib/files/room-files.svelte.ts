/**
 * The "files in this chat" list: one filter (all, images, documents), pages loaded newest first as
 * the reader scrolls. Kept current by RoomFilesUi, which watches the timeline: a file deleted leaves
 * the list (`drop`), a file newly attached brings the first page again (`refreshHead`).
 */
import { errorCode } from '$lib/errors/handle-error.ts';
import { filesApi, type RoomFile, type RoomFileKind } from './api.ts';
import { appendPage, prependPage } from './gallery.ts';

export type FilesFilter = 'all' | RoomFileKind;

const PAGE = 30;

export class RoomFilesList {
  filter = $state<FilesFilter>('all');
  files = $state.raw<RoomFile[]>([]);
  /** Cursor of the next (older) page, null once the last is loaded. */
  next = $state<string | null>(null);
  loaded = $state(false);
  loading = $state(false);
  /** The code of the last failed load, shown with a retry. */
  error = $state<string | null>(null);

  private readonly roomId: string;
  private generation = 0;

  constructor(roomId: string) {
    this.roomId = roomId;
  }

  setFilter(filter: FilesFilter): void {
    if (filter === this.filter) return;
    this.filter = filter;
    void this.reload();
  }

  async reload(): Promise<void> {
    const generation = ++this.generation;
    this.files = [];
    this.next = null;
    this.loaded = false;
    await this.fetch(generation, null);
  }

  async more(): Promise<void> {
    if (this.loading || !this.loaded || !this.next) return;
    await this.fetch(this.generation, this.next);
  }

  drop(ids: ReadonlySet<string>): void {
    if (this.files.some((f) => ids.has(f.id))) this.files = this.files.filter((f) => !ids.has(f.id));
  }

  private query(before: string | null) {
    return { limit: PAGE, before, ...(this.filter === 'all' ? {} : { kind: this.filter }) };
  }

  private async fetch(generation: number, before: string | null): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const page = await filesApi.room(this.roomId, this.query(before));
      if (generation !== this.generation) return;
      this.files = appendPage(this.files, page.files);
      this.next = page.next;
      this.loaded = true;
    } catch (e) {
      if (generation === this.generation) this.error = errorCode(e);
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }

  /** New files were attached: the first page again, its new rows on top (the rest stays). */
  async refreshHead(): Promise<void> {
    if (!this.loaded) return;
    const generation = this.generation;
    try {
      const page = await filesApi.room(this.roomId, this.query(null));
      if (generation === this.generation) this.files = prependPage(this.files, page.files);
    } catch {
      // offline: the rows come with the next load
    }
  }
}
