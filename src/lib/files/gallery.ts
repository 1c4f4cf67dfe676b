/**
 * The order the image viewer walks through: oldest to newest, as the timeline reads, and the
 * images of one message in the order they sit in that message. The server lists files newest first
 * but cannot order the files of one message among themselves (they share one attach time), so the
 * message's own `attachments` order decides where we know the message.
 */
import type { RoomFile } from './api.ts';

/** `orderOf(messageId)`: that message's attachment ids in order, when the message is loaded. */
export function chronological(newestFirst: readonly RoomFile[], orderOf: (messageId: string) => readonly string[] | undefined): RoomFile[] {
  const oldestFirst = [...newestFirst].reverse();
  const groupAt = new Map<string, number>();
  oldestFirst.forEach((f, i) => {
    if (!groupAt.has(f.messageId)) groupAt.set(f.messageId, i);
  });
  const position = new Map(oldestFirst.map((f, i) => [f.id, i]));
  const within = (f: RoomFile) => {
    const at = orderOf(f.messageId)?.indexOf(f.id) ?? -1;
    return at >= 0 ? at : MAX_IN_MESSAGE + position.get(f.id)!;
  };
  return oldestFirst.sort((a, b) => groupAt.get(a.messageId)! - groupAt.get(b.messageId)! || within(a) - within(b));
}

const MAX_IN_MESSAGE = 1000;

/** Merges a further (older) page into what is loaded, newest first, without duplicates. */
export function appendPage(loaded: readonly RoomFile[], page: readonly RoomFile[]): RoomFile[] {
  const seen = new Set(loaded.map((f) => f.id));
  return [...loaded, ...page.filter((f) => !seen.has(f.id))];
}

/** New files at the head (a first page fetched again), newest first, without duplicates. */
export function prependPage(loaded: readonly RoomFile[], page: readonly RoomFile[]): RoomFile[] {
  const seen = new Set(loaded.map((f) => f.id));
  return [...page.filter((f) => !seen.has(f.id)), ...loaded];
}
