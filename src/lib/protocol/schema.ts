/**
 * The room-document protocol shared by the server and every client (see docs/PROTOCOL.md).
 * Pure TypeScript, no dependencies: the server validates with it, the client writes with it.
 */

/** Document names: head `room:<roomId>`, segment `room:<roomId>:<n>`, the user's own `user:<userId>`. */
export type DocName = { kind: 'head'; roomId: string } | { kind: 'segment'; roomId: string; n: number } | { kind: 'user'; userId: string } | { kind: 'presence' };

const ROOM_ID = /^[A-Za-z0-9_-]{8,40}$/;

export function parseDocName(name: string): DocName | null {
  if (name === PRESENCE_DOC) return { kind: 'presence' };
  const parts = name.split(':');
  if (parts[0] === 'user' && parts.length === 2 && ROOM_ID.test(parts[1])) return { kind: 'user', userId: parts[1] };
  if (parts[0] !== 'room' || !ROOM_ID.test(parts[1] ?? '')) return null;
  if (parts.length === 2) return { kind: 'head', roomId: parts[1] };
  if (parts.length === 3 && /^(0|[1-9][0-9]{0,8})$/.test(parts[2])) return { kind: 'segment', roomId: parts[1], n: Number(parts[2]) };
  return null;
}

export const headName = (roomId: string) => `room:${roomId}`;
export const segmentName = (roomId: string, n: number) => `room:${roomId}:${n}`;
export const userDocName = (userId: string) => `user:${userId}`;

/**
 * Presence and typing travel as Hocuspocus stateless messages (JSON strings), not awareness: nothing
 * is renewed every 15 s, so an idle user costs only the server's keep-alive.
 * - `presence` document (read-only, no content): the server sends `{t:'presence-all', users}` on
 *   connect and `{t:'presence', u, s}` on every change; a client sends `{t:'away', away}`.
 * - a room's head document: a client sends `{t:'typing'}` while typing (at most every 2 s); the server
 *   relays `{t:'typing', u}` (with the sender's real id) to the room's members.
 */
export const PRESENCE_DOC = 'presence';
export type PresenceStatus = 'online' | 'away' | 'offline';
export type StatelessFromServer =
  | { t: 'presence-all'; users: Record<string, PresenceStatus> }
  | { t: 'presence'; u: string; s: PresenceStatus }
  | { t: 'typing'; u: string };
export type StatelessFromClient = { t: 'away'; away: boolean } | { t: 'typing' };

/** The user document `user:<userId>`: read-only, readable by that user only, written by the server. */
export const USER_ROOMS = 'rooms'; // Y.Map<roomId, RoomEntry>
export const USER_PROFILE = 'profile'; // Y.Map: id, username, displayName, statusMessage, isAdmin, avatarAt (absent without a photo)

/** One room in the user's room list (the list works offline from this document). */
export interface RoomEntry {
  id: string;
  kind: 'direct' | 'group';
  name: string;
  visibility: 'joined' | 'shared';
  role: 'admin' | 'member';
  pinned: boolean;
  muted: boolean;
  joinedAt: number;
  createdAt: number;
  /** For 1:1 rooms: the other person, if still there (`avatarAt`: their photo's version, absent without one). */
  peer: { id: string; username: string; displayName: string; avatarAt?: number } | null;
}

/** `GET /api/rooms`: a room entry plus what the server knows of its activity. */
export interface RoomSummary extends RoomEntry {
  lastActivityAt: number;
  openSegment: number;
}

/** Top-level shared types of a segment document. */
export const SEGMENT_MESSAGES = 'messages'; // Y.Map<messageId, Message>, written by members
export const SEGMENT_RECEIPTS = 'receipts'; // Y.Map<messageId, Receipt>, written by the server only
export const SEGMENT_REACTIONS = 'reactions'; // Y.Map<reactionKey(messageId, userId, emoji), Reaction>, each user their own
export const SEGMENT_VOTES = 'votes'; // Y.Map<voteKey(pollId, userId), Vote>, each user their own

/** Top-level shared types of the head document (all written by the server). */
export const HEAD_ROOM = 'room'; // Y.Map: name, kind, visibility, createdAt
export const HEAD_MEMBERS = 'members'; // Y.Map<userId, Member>
export const HEAD_SEGMENTS = 'segments'; // Y.Map<String(n), SegmentInfo>
export const HEAD_READS = 'reads'; // Y.Map<userId, number>: each member's read position (receipt seq)
export const HEAD_PINS = 'pins'; // Y.Map<pinId, Pin>
export const HEAD_POLLS = 'polls'; // Y.Map<pollId, Poll>

/**
 * A message as stored under `messages[id]`. The whole value is replaced on edit or delete
 * (Y.Map.set with a plain object), so every client write is one map entry.
 */
export interface Message {
  id: string;
  author: string;
  text: string;
  /** Client clock in ms at creation; display only. Order comes from the receipt. */
  createdAt: number;
  replyTo?: string;
  editedAt?: number;
  deleted?: true;
  /** User ids mentioned with @, or 'all'. */
  mentions?: string[];
  /** Files sent with the message (fixed at creation; text may be empty when there is one). */
  attachments?: Attachment[];
  /**
   * Server-written lines only (clients cannot write these): a pin/unpin line, a poll card, or a
   * membership change of a group (`author` invited `names`, `names` left, `author` removed `names`;
   * the names as they were then, so the line reads right after an account is gone).
   */
  system?:
    | { type: 'pinned' | 'unpinned'; pinId: string; excerpt: string }
    | { type: 'poll'; pollId: string }
    | { type: 'members'; change: 'invited' | 'left' | 'removed'; userIds: string[]; names: string[] };
}

/**
 * A file in a message. `id`, `name`, `size`, `type`, `width` and `height` are what `POST /api/upload`
 * returned (the server checks they match the upload); `token` is the one-time upload token, spent when
 * the server accepts the message (it is worthless afterwards, so it may stay in the document).
 */
export interface Attachment {
  id: string;
  token: string;
  name: string;
  size: number;
  type: string;
  width?: number;
  height?: number;
}
export const MAX_ATTACHMENTS = 10;
const ATTACHMENT_KEYS = new Set(['id', 'token', 'name', 'size', 'type', 'width', 'height']);
export const FILE_ID = /^[A-Za-z0-9_-]{8,40}$/;
export const UPLOAD_TOKEN = /^[A-Za-z0-9_-]{16,100}$/;
const dimension = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) > 0 && (v as number) <= 100_000);

/** Structural check of a message's attachments (not the tokens: the server checks those). */
export function checkAttachmentsShape(value: unknown): boolean {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ATTACHMENTS) return false;
  const ids = new Set<string>();
  for (const a of value) {
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return false;
    const r = a as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!ATTACHMENT_KEYS.has(k)) return false;
    if (typeof r.id !== 'string' || !FILE_ID.test(r.id) || ids.has(r.id)) return false;
    if (typeof r.token !== 'string' || !UPLOAD_TOKEN.test(r.token)) return false;
    if (typeof r.name !== 'string' || r.name.length === 0 || r.name.length > 255) return false;
    if (!Number.isSafeInteger(r.size) || (r.size as number) < 0) return false;
    if (typeof r.type !== 'string' || r.type.length === 0 || r.type.length > 100) return false;
    if (!dimension(r.width) || !dimension(r.height)) return false;
    ids.add(r.id);
  }
  return true;
}

export interface Reaction {
  at: number;
}
export interface Vote {
  pollId: string;
  optionIds: string[];
  at: number;
}
/** `<messageId>|<userId>|<emoji>`: one per user per emoji per message. */
export const reactionKey = (messageId: string, userId: string, emoji: string) => `${messageId}|${userId}|${emoji}`;
export function parseReactionKey(key: string): { messageId: string; userId: string; emoji: string } | null {
  const parts = key.split('|');
  if (parts.length !== 3 || !MESSAGE_ID.test(parts[0]) || !/^[A-Za-z0-9_-]{8,40}$/.test(parts[1])) return null;
  const emoji = parts[2];
  // one emoji (a grapheme with pictographic content), at most 16 UTF-16 units: no text around it
  if (emoji.length === 0 || emoji.length > 16 || !/\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(emoji) || /[\s|]/.test(emoji)) return null;
  if (!EMOJI_CHARS.test(emoji) || graphemeCount(emoji) !== 1) return null;
  return { messageId: parts[0], userId: parts[1], emoji };
}
/** Code points an emoji is made of: pictographs, modifiers, ZWJ, variation selectors, keycaps, flags, tags. */
const EMOJI_CHARS = /^(?:\p{Extended_Pictographic}|\p{Emoji_Component})+$/u;
const graphemeCount = (s: string) => (typeof Intl.Segmenter === 'function' ? [...new Intl.Segmenter().segment(s)].length : 1);
/** `<pollId>|<userId>`: a user's current vote. */
export const voteKey = (pollId: string, userId: string) => `${pollId}|${userId}`;

export interface Pin {
  id: string;
  /** A pinned message (and the segment it lives in), or a free-text notice. */
  messageId: string | null;
  segment: number | null;
  text: string;
  by: string;
  at: number;
}

export interface PollOption {
  id: string;
  text: string;
}
export interface Poll {
  id: string;
  question: string;
  options: PollOption[];
  multiple: boolean;
  anonymous: boolean;
  endsAt: number | null;
  closedAt: number | null;
  createdBy: string;
  createdAt: number;
  /** optionId -> number of voters */
  tallies: Record<string, number>;
  /** optionId -> user ids (empty for anonymous polls) */
  voters: Record<string, string[]>;
  /** how many people voted */
  voterCount: number;
}

/** Written by the server when it accepts a new message. */
export interface Receipt {
  /** Room-wide order: strictly increasing across segments. */
  seq: number;
  /** Server receive time (ms). */
  at: number;
  /** Set when a message arrived in a sealed segment and was copied into the open one. */
  movedTo?: number;
}

export interface Member {
  role: 'admin' | 'member';
  joinedAt: number;
  username: string;
  displayName: string;
  /** The member's profile photo version (`GET /api/users/:id/avatar?v=<avatarAt>`); absent without one. */
  avatarAt?: number;
}

export interface SegmentInfo {
  n: number;
  openedAt: number;
  sealedAt: number | null;
}

export const MESSAGE_ID = /^[A-Za-z0-9_-]{8,40}$/;
const MESSAGE_KEYS = new Set(['id', 'author', 'text', 'createdAt', 'replyTo', 'editedAt', 'deleted', 'mentions', 'attachments']);
export const MAX_MENTIONS = 50;

/** Structural check of a message value; returns an error code or null. */
export function checkMessageShape(key: string, value: unknown, maxChars: number): 'schema-violation' | 'message-too-long' | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'schema-violation';
  const m = value as Record<string, unknown>;
  for (const k of Object.keys(m)) if (!MESSAGE_KEYS.has(k)) return 'schema-violation';
  if (m.id !== key || !MESSAGE_ID.test(key)) return 'schema-violation';
  if (typeof m.author !== 'string' || typeof m.text !== 'string') return 'schema-violation';
  if (typeof m.createdAt !== 'number' || !Number.isFinite(m.createdAt)) return 'schema-violation';
  if (m.replyTo !== undefined && (typeof m.replyTo !== 'string' || !MESSAGE_ID.test(m.replyTo))) return 'schema-violation';
  if (m.editedAt !== undefined && (typeof m.editedAt !== 'number' || !Number.isFinite(m.editedAt))) return 'schema-violation';
  if (m.deleted !== undefined && m.deleted !== true) return 'schema-violation';
  if (m.mentions !== undefined) {
    if (!Array.isArray(m.mentions) || m.mentions.length > MAX_MENTIONS) return 'schema-violation';
    if (new Set(m.mentions).size !== m.mentions.length) return 'schema-violation';
    for (const u of m.mentions) if (typeof u !== 'string' || (u !== 'all' && !/^[A-Za-z0-9_-]{8,40}$/.test(u))) return 'schema-violation';
  }
  if (m.attachments !== undefined && !checkAttachmentsShape(m.attachments)) return 'schema-violation';
  if (m.deleted === true && (m.text !== '' || m.attachments !== undefined)) return 'schema-violation'; // delete erases content
  if (m.deleted !== true && m.text.trim() === '' && m.attachments === undefined) return 'schema-violation';
  if ([...m.text].length > maxChars) return 'message-too-long';
  return null;
}
