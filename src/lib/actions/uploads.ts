/**
 * Sending files. Every entry path — the attach button, the camera button, drag and drop onto the
 * room, paste into the composer — hands its files to `enqueueFiles` with the room's id, so no
 * path can forget the room (the old product's worst upload bug). The queue does the rest.
 */
import { handleError } from '$lib/errors/handle-error.ts';
import type { UploadQueue } from '$lib/uploads/upload-queue.svelte.ts';

/** Returns false when there was nothing to send. */
export function enqueueFiles(uploads: UploadQueue, roomId: string, files: Iterable<File> | ArrayLike<File> | null | undefined): boolean {
  const list = files ? Array.from(files as ArrayLike<File>).filter((f) => f instanceof File) : [];
  if (!roomId || list.length === 0) return false;
  uploads.enqueue(roomId, list).catch(handleError);
  return true;
}

export function cancelUpload(uploads: UploadQueue, id: string): void {
  uploads.cancel(id);
}

export function retryUpload(uploads: UploadQueue, id: string): void {
  uploads.retry(id);
}

export function dismissUpload(uploads: UploadQueue, id: string): void {
  uploads.dismiss(id);
}
