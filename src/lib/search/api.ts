/**
 * The server's message search (SPEC §5a): `GET /api/search` for a plain query (optionally in one
 * room), `POST /api/search/advanced` when a sender, a day range or "files only" narrows it. Day
 * ranges are sent with the browser's IANA time zone, so "from 3 March" means the user's 3 March.
 */
import { request } from '$lib/api/client.ts';
import type { SearchFilters, SearchHit } from './results.ts';

export interface ServerResult {
  roomId: string;
  messageId: string;
  segment: number;
  senderId: string;
  at: number;
  snippet: { text: string; highlights: [number, number][] };
}

export interface SearchPage {
  hits: SearchHit[];
  total: number;
  /** More than the server counts exactly (shown as "1,000+"). */
  totalCapped: boolean;
}

export const PAGE_SIZE = 20;

export function timeZone(): string | null {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

export async function searchServer(query: string, filters: SearchFilters, offset: number, limit = PAGE_SIZE): Promise<SearchPage> {
  const advanced = !!(filters.senderId || filters.dateFrom || filters.dateTo || filters.filesOnly);
  type Body = { results: ServerResult[]; total: number; totalCapped?: boolean };
  let body: Body;
  if (advanced) {
    body = await request<Body>('POST', '/api/search/advanced', {
      query,
      ...(filters.roomId ? { room_id: filters.roomId } : {}),
      ...(filters.senderId ? { sender_id: filters.senderId } : {}),
      ...(filters.dateFrom ? { date_from: filters.dateFrom } : {}),
      ...(filters.dateTo ? { date_to: filters.dateTo } : {}),
      ...(filters.dateFrom || filters.dateTo ? { time_zone: timeZone() } : {}),
      ...(filters.filesOnly ? { files_only: true } : {}),
      limit,
      offset,
    });
  } else {
    const params = new URLSearchParams({ q: query, limit: String(limit), offset: String(offset) });
    if (filters.roomId) params.set('room_id', filters.roomId);
    body = await request<Body>('GET', `/api/search?${params}`);
  }
  return {
    hits: body.results.map((r) => ({ ...r, pending: false })),
    total: body.total,
    totalCapped: body.totalCapped === true,
  };
}
