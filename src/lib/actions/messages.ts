/**
 * Message actions: send, edit, delete. Each builds the whole new value, checks it with the shared
 * protocol validator before writing (a refused write would otherwise sit in the local document), and
 * writes one `messages` entry (docs/PROTOCOL.md). Returns false when nothing was written.
 *
 * A post goes into the room's outbox, which writes it into the open segment under the client's
 * rate budget (pending meanwhile); an edit or delete of a post still in the outbox changes it there.
 * Edits and deletes of written messages go straight into the document and count against the budget.
 */
import type { User } from '$lib/api/types.ts';
import { handleError, RefusalError } from '$lib/errors/handle-error.ts';
import { clockKey } from '$lib/local/keys.ts';
import { newMessageId, nextCreatedAt } from '$lib/messages/ids.ts';
import type { TimelineMessage } from '$lib/messages/timeline.ts';
import { checkMessageShape, SEGMENT_MESSAGES, type Message } from '$lib/protocol/schema';
import type { RoomView } from '$lib/state/room-view.svelte.ts';
import type * as Y from 'yjs';

function valid(next: Message, maxChars: number | null): boolean {
  if (maxChars === null) {
    handleError(new RefusalError('network-error')); // the limit comes from the server; we do not guess it
    return false;
  }
  const code = checkMessageShape(next.id, next, maxChars);
  if (code) handleError(new RefusalError(code));
  return code === null;
}

function write(room: RoomView, doc: Y.Doc, next: Message, maxChars: number | null): boolean {
  if (!valid(next, maxChars)) return false;
  room.countWrite();
  doc.getMap<Message>(SEGMENT_MESSAGES).set(next.id, next);
  return true;
}

export function sendMessage(room: RoomView, me: User, maxChars: number | null, text: string, replyTo?: string, mentions?: string[]): boolean {
  const body = text.trim();
  if (!body) return false;
  const id = newMessageId();
  const createdAt = nextCreatedAt(clockKey(me.id));
  const msg: Message = { id, author: me.id, text: body, createdAt, ...(replyTo ? { replyTo } : {}), ...(mentions?.length ? { mentions } : {}) };
  if (!valid(msg, maxChars)) return false;
  room.post(msg);
  return true;
}

/** The live value, not the timeline's copy: an edit replaces the whole entry. */
function live(room: RoomView, target: TimelineMessage): { doc: Y.Doc; msg: Message } | null {
  const doc = room.docOf(target.segment);
  const msg = doc?.getMap<Message>(SEGMENT_MESSAGES).get(target.id);
  return doc && msg ? { doc, msg } : null;
}

/** `mentions`: those of the new text (replacing the old ones). */
export function editMessage(room: RoomView, me: User, maxChars: number | null, target: TimelineMessage, text: string, mentions?: string[]): boolean {
  const body = text.trim();
  let queuedOk = true;
  const queued = room.updateQueued(target.id, (m) => {
    const { mentions: _old, ...rest } = m;
    const next = { ...rest, text: body, ...(mentions?.length ? { mentions } : {}) };
    queuedOk = valid(next, maxChars);
    return queuedOk ? next : m;
  });
  if (queued) return queuedOk;
  const found = live(room, target);
  if (!found || found.msg.deleted) return false;
  if (found.msg.author !== me.id) {
    handleError(new RefusalError('not-author'));
    return false;
  }
  if (body === found.msg.text) return true;
  const { mentions: _old, ...rest } = found.msg;
  return write(room, found.doc, { ...rest, text: body, editedAt: Date.now(), ...(mentions?.length ? { mentions } : {}) }, maxChars);
}

export function deleteMessage(room: RoomView, me: User, maxChars: number | null, target: TimelineMessage): boolean {
  if (room.updateQueued(target.id, () => null)) return true; // never written: nothing to tell the server
  const found = live(room, target);
  if (!found || found.msg.deleted) return false;
  if (found.msg.author !== me.id && !room.isAdmin) {
    handleError(new RefusalError('not-author'));
    return false;
  }
  // author, createdAt and replyTo stay as they were: the server refuses any change to them; a
  // tombstone carries no content, files included (the server removes the files it held)
  const { attachments: _files, ...rest } = found.msg;
  return write(room, found.doc, { ...rest, text: '', deleted: true }, maxChars);
}

/** A failed message goes out again under a new id (the old one may still reach the server late). */
export function retryFailed(room: RoomView, me: User, maxChars: number | null, failedId: string): void {
  const f = room.failed.find((x) => x.id === failedId);
  if (!f) return;
  if (sendMessage(room, me, maxChars, f.text, f.replyTo, f.mentions)) room.dropFailed(failedId);
}
