/** Shapes of the JSON API (SPEC §5a) as the web app reads them. */
export interface User {
  id: string;
  username: string;
  displayName: string;
  statusMessage?: string;
  isAdmin?: boolean;
  /** Version of the profile photo (`GET /api/users/:id/avatar?v=`); absent without one. */
  avatarAt?: number;
}

export interface Peer {
  id: string;
  username: string;
  displayName: string;
  avatarAt?: number;
}

export type { RoomSummary } from '$lib/protocol/schema';

export interface RoomMember {
  id: string;
  username: string;
  displayName: string;
  role: 'admin' | 'member';
  joinedAt: number;
  avatarAt?: number;
}

export interface RoomDetail {
  id: string;
  kind: 'direct' | 'group';
  name: string;
  visibility: 'joined' | 'shared';
  role: 'admin' | 'member';
  openSegment: number;
  segments: number[];
  members: RoomMember[];
}

export interface PublicConfig {
  messages: { maxChars: number };
  /** The server's rate limits (server/http/rate-limits.ts); the client paces its writes under them. */
  rateLimits?: Partial<Record<string, { points: number; durationSec: number }>>;
  registration?: 'open' | 'invite-only' | 'closed';
  /** Absent (an older server) or `enabled: false`: files cannot be sent. */
  uploads?: UploadConfig;
  features?: Partial<Record<string, boolean>>;
}

/** `GET /api/config` → `uploads` (docs/PROTOCOL.md, upload contract): the only source of the limits. */
export interface UploadConfig {
  enabled: boolean;
  maxBytes: number;
  /** Allowed extensions (lower case, no dot) → the MIME type the server stores them with. */
  types: Record<string, string>;
  /** For `<input accept>`: ".png,.jpg,...". */
  accept: string;
  /** Files wait in quarantine until the virus scanner passed them. */
  av: boolean;
  tokenTtlSec: number;
  maxAttachments: number;
}
