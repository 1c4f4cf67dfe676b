/**
 * File actions. Deleting goes through the server (`DELETE /api/files/:id`, uploader or room admin):
 * it takes the attachment out of its message in the document itself, so the timeline follows by
 * sync; what is shown of the file elsewhere (the panel, the viewer) is dropped here at once.
 */
import { filesApi } from '$lib/files/api.ts';
import type { RoomFilesUi } from '$lib/files/room-files-ui.svelte.ts';
import { errorCode, handleError } from '$lib/errors/handle-error.ts';

export async function deleteFile(files: RoomFilesUi, id: string): Promise<boolean> {
  try {
    await filesApi.remove(id);
  } catch (e) {
    // already gone (deleted meanwhile, here or elsewhere): the same outcome as deleting it
    if (errorCode(e) !== 'not-found') {
      handleError(e);
      return false;
    }
  }
  files.forget(new Set([id]));
  return true;
}
