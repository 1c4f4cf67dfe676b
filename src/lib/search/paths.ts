/** Addresses of the search page and of one message in its room (a search result, a reply). */
export const MESSAGE_PARAM = 'm';
export const SEGMENT_PARAM = 's';

export function searchPath(query: string, roomId: string | null): string {
  const params = new URLSearchParams();
  if (query) params.set('q', query);
  if (roomId) params.set('room', roomId);
  const qs = params.toString();
  return qs ? `/search?${qs}` : '/search';
}

/** The room opened at a message: the room view loads older segments down to `segment`. */
export function messagePath(roomId: string, messageId: string, segment: number | null): string {
  const params = new URLSearchParams({ [MESSAGE_PARAM]: messageId });
  if (segment !== null) params.set(SEGMENT_PARAM, String(segment));
  return `/rooms/${encodeURIComponent(roomId)}?${params}`;
}
