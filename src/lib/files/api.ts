/**
 * The file endpoints the chat reads (docs/PROTOCOL.md, "Files and attachments"): same-origin URLs
 * (the session cookie rides along, so `<img src>` and `<a href>` work as they are), a room's file
 * list, newest first, in pages, and deleting a file.
 */
import { request } from '$lib/api/client.ts';

const file = (id: string) => `/api/files/${encodeURIComponent(id)}`;

export const fileUrl = (id: string) => file(id);
export const thumbUrl = (id: string) => `${file(id)}/thumb`;
export const downloadUrl = (id: string) => `${file(id)}?download=1`;

/** A file as the room's list returns it. */
export interface RoomFile {
  id: string;
  name: string;
  size: number;
  type: string;
  width?: number;
  height?: number;
  thumb: boolean;
  uploader: string;
  messageId: string;
  segment: number;
  createdAt: number;
}

export type RoomFileKind = 'image' | 'document';

export interface RoomFilePage {
  files: RoomFile[];
  /** The cursor for the next (older) page; null when this was the last. */
  next: string | null;
}

export const filesApi = {
  room(roomId: string, query: { kind?: RoomFileKind; limit?: number; before?: string | null } = {}): Promise<RoomFilePage> {
    const params = new URLSearchParams();
    if (query.kind) params.set('kind', query.kind);
    if (query.limit) params.set('limit', String(query.limit));
    if (query.before) params.set('before', query.before);
    const qs = params.toString();
    return request<RoomFilePage>('GET', `/api/rooms/${encodeURIComponent(roomId)}/files${qs ? `?${qs}` : ''}`);
  },
  remove: (id: string) => request<void>('DELETE', file(id)),
};
