/**
 * What the files of one open room share between the timeline, the files panel and the image
 * viewer: the viewer's state, the panel's list and whether the panel is open. RoomScreen creates
 * one per mounted room and puts it in the component context, so that a thumbnail deep in the
 * message list opens the viewer without every list in between passing it down.
 *
 * It watches the timeline (an effect: construct it while a component initialises): a file that
 * leaves an accepted message (deleted, by anyone) leaves the panel and the viewer, and a newly
 * attached one refreshes the panel's first page.
 */
import { getContext, setContext, untrack } from 'svelte';
import type { Attachment } from '$lib/protocol/schema';
import type { TimelineMessage } from '$lib/messages/timeline.ts';
import { isInlineImage } from './format.ts';
import { ImageViewerState, type ViewerImage } from './image-viewer.svelte.ts';
import { RoomFilesList } from './room-files.svelte.ts';

export class RoomFilesUi {
  readonly viewer: ImageViewerState;
  readonly list: RoomFilesList;
  panelOpen = $state(false);
  /** Attachment ids of each accepted message, as last seen. */
  private known: Map<string, string[]> | null = null;

  constructor(roomId: string, messages: () => readonly TimelineMessage[]) {
    const orderOf = (messageId: string) => messages().find((m) => m.id === messageId)?.attachments?.map((a) => a.id);
    this.viewer = new ImageViewerState(roomId, orderOf);
    this.list = new RoomFilesList(roomId);
    $effect(() => {
      const attached = new Map<string, string[]>();
      for (const m of messages()) if (m.seq !== null) attached.set(m.id, (m.attachments ?? []).map((a) => a.id));
      untrack(() => this.sync(attached));
    });
  }

  togglePanel(): void {
    this.panelOpen = !this.panelOpen;
    if (this.panelOpen) void this.list.reload();
  }

  /** Opens the viewer on one image of a message, walking that message's images until the room's list is in. */
  openAttachment(message: TimelineMessage, attachment: Attachment): void {
    const seed = (message.attachments ?? []).filter((a) => isInlineImage(a.type)).map((a) => imageOf(message, a));
    this.viewer.show(attachment.id, seed);
  }

  openImage(image: ViewerImage): void {
    this.viewer.show(image.id, [image]);
  }

  /** Files gone from the room (deleted): out of the panel and the viewer. */
  forget(ids: ReadonlySet<string>): void {
    this.list.drop(ids);
    this.viewer.drop(ids);
  }

  /** Only messages seen both times count: one leaving the loaded timeline deletes nothing. */
  private sync(attached: Map<string, string[]>): void {
    const before = this.known;
    this.known = attached;
    if (!before) return;
    const gone = new Set<string>();
    let added = false;
    for (const [id, files] of attached) {
      const was = before.get(id);
      if (!was) {
        added ||= files.length > 0;
        continue;
      }
      for (const f of was) if (!files.includes(f)) gone.add(f);
    }
    if (gone.size) this.forget(gone);
    if (added && this.panelOpen) void this.list.refreshHead();
  }
}

const imageOf = (m: TimelineMessage, a: Attachment): ViewerImage => ({ id: a.id, name: a.name, width: a.width, height: a.height, uploader: m.author, createdAt: m.at ?? m.createdAt, messageId: m.id });

const KEY = Symbol('room-files');

export const setRoomFiles = (ui: RoomFilesUi) => setContext(KEY, ui);
/** Undefined outside a room screen: thumbnails then open the image itself. */
export const getRoomFiles = () => getContext<RoomFilesUi | undefined>(KEY);
