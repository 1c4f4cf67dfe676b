/** Pinned notices: pin a message or a free text, unpin (any member; the server writes the head). */
import { featuresApi } from '$lib/api/features.ts';
import { handleError } from '$lib/errors/handle-error.ts';
import type { TimelineMessage } from '$lib/messages/timeline.ts';

export async function pinMessage(roomId: string, m: TimelineMessage): Promise<void> {
  try {
    await featuresApi.pinMessage(roomId, m.id, m.segment);
  } catch (e) {
    handleError(e);
  }
}

export async function pinText(roomId: string, text: string): Promise<boolean> {
  try {
    await featuresApi.pinText(roomId, text.trim());
    return true;
  } catch (e) {
    handleError(e);
    return false;
  }
}

export async function unpin(roomId: string, pinId: string): Promise<void> {
  try {
    await featuresApi.unpin(roomId, pinId);
  } catch (e) {
    handleError(e);
  }
}
