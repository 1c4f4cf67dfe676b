/**
 * The image viewer's state: which image of the room is shown and which come before and after it.
 *
 * Lifecycle: `show(startId, seed)` opens at once on the images the caller knows (the message's
 * own, or one row of the files panel); the room's image list (`GET /api/rooms/:id/files?kind=image`,
 * newest first) is then paged until the start image is in it, and replaces the seed, so previous
 * and next walk the whole room. Older pages load as the reader nears the oldest loaded image.
 * Offline, or for an image older than the pages we look through, the seed is all there is.
 */
import { filesApi, type RoomFile } from './api.ts';
import { appendPage, chronological } from './gallery.ts';

export interface ViewerImage {
  id: string;
  name: string;
  width?: number;
  height?: number;
  uploader: string;
  createdAt: number;
  messageId: string;
}

const PAGE = 50;
/** How far back the start image is looked for (PAGE × this); beyond it the seed stays. */
const LOCATE_PAGES = 6;
/** Load older images when the reader is this close to the oldest loaded one. */
const PREFETCH = 3;

export class ImageViewerState {
  open = $state(false);
  images = $state.raw<ViewerImage[]>([]);
  index = $state(0);
  /** The room has older images than those loaded. */
  older = $state(false);
  loadingOlder = $state(false);
  current = $derived<ViewerImage | null>(this.images[this.index] ?? null);
  hasPrev = $derived(this.index > 0 || this.older);
  hasNext = $derived(this.index < this.images.length - 1);
  /** Position and total once the whole list is loaded; null while older pages remain. */
  position = $derived(this.older ? null : { at: this.index + 1, of: this.images.length });

  private readonly roomId: string;
  private readonly orderOf: (messageId: string) => readonly string[] | undefined;
  private raw: RoomFile[] = [];
  private cursor: string | null = null;
  /** Bumped on every show/close: answers for an earlier opening are dropped. */
  private generation = 0;

  constructor(roomId: string, orderOf: (messageId: string) => readonly string[] | undefined) {
    this.roomId = roomId;
    this.orderOf = orderOf;
  }

  show(startId: string, seed: ViewerImage[]): void {
    const generation = ++this.generation;
    this.raw = [];
    this.cursor = null;
    this.older = false;
    this.images = seed;
    this.index = Math.max(0, seed.findIndex((i) => i.id === startId));
    this.open = true;
    void this.locate(startId, generation);
  }

  close(): void {
    this.generation++;
    this.open = false;
  }

  prev(): void {
    if (this.index > 0) this.index--;
    else if (this.older) void this.loadOlder(true);
    if (this.index < PREFETCH && this.older) void this.loadOlder(false);
  }

  next(): void {
    if (this.hasNext) this.index++;
  }

  /** A file deleted meanwhile leaves the walk; the viewer closes when none is left. */
  drop(ids: ReadonlySet<string>): void {
    if (!this.images.some((i) => ids.has(i.id))) return;
    const currentId = this.current?.id;
    this.raw = this.raw.filter((f) => !ids.has(f.id));
    const at = this.index;
    this.images = this.images.filter((i) => !ids.has(i.id));
    const still = this.images.findIndex((i) => i.id === currentId);
    this.index = still >= 0 ? still : Math.min(at, this.images.length - 1);
    if (this.images.length === 0) this.close();
  }

  private async locate(startId: string, generation: number): Promise<void> {
    let found = false;
    for (let page = 0; page < LOCATE_PAGES && !found; page++) {
      let answer;
      try {
        answer = await filesApi.room(this.roomId, { kind: 'image', limit: PAGE, before: this.cursor });
      } catch {
        return; // offline or refused: the seed is what we can show
      }
      if (generation !== this.generation) return;
      this.raw = appendPage(this.raw, answer.files);
      this.cursor = answer.next;
      found = answer.files.some((f) => f.id === startId);
      if (!answer.next) break;
    }
    // not in the room's list (an old image, or its message not accepted yet): keep the seed
    if (found) this.rebuild(false);
  }

  private async loadOlder(step: boolean): Promise<void> {
    if (this.loadingOlder || !this.cursor) return;
    const generation = this.generation;
    this.loadingOlder = true;
    try {
      const answer = await filesApi.room(this.roomId, { kind: 'image', limit: PAGE, before: this.cursor });
      if (generation !== this.generation) return;
      this.raw = appendPage(this.raw, answer.files);
      this.cursor = answer.next;
      this.rebuild(step);
    } catch {
      // offline: the reader stays on the oldest loaded image and may try again
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Replaces the list with the loaded pages, staying on the image shown (or one older). */
  private rebuild(stepOlder: boolean): void {
    const currentId = this.current?.id;
    this.images = chronological(this.raw, this.orderOf).map(toImage);
    this.older = this.cursor !== null;
    const at = this.images.findIndex((i) => i.id === currentId);
    this.index = Math.max(0, at - (stepOlder && at > 0 ? 1 : 0));
  }
}

const toImage = (f: RoomFile): ViewerImage => ({ id: f.id, name: f.name, width: f.width, height: f.height, uploader: f.uploader, createdAt: f.createdAt, messageId: f.messageId });
