/** Injected edges of the domain: time, ids and the event bus that the collaboration layer listens to. */
import { EventEmitter } from 'node:events';
import crypto from 'node:crypto';
import type { Message } from '../../src/lib/protocol/schema.ts';

export type SystemLine = NonNullable<Message['system']>;

export interface Clock {
  now(): number;
}
export interface Ids {
  /** URL-safe random id (also valid as a room id in document names). */
  next(): string;
}

export const systemClock: Clock = { now: () => Date.now() };
export const randomIds: Ids = { next: () => crypto.randomBytes(12).toString('base64url') };

/**
 * Domain events, emitted after the SQLite transaction that caused them has committed.
 * The collaboration layer mirrors rooms into head documents and closes sockets from them.
 */
export interface DomainEvents {
  'sessions-revoked': [sessionIds: string[], reason?: 'session-revoked' | 'account-disabled'];
  /** A user lost access to a room (kicked, left, deleted). */
  'member-removed': [roomId: string, userId: string];
  /** Name, visibility, members, roles or segments changed: the head document must be mirrored. */
  'room-changed': [roomId: string];
  'room-deleted': [roomId: string];
  /** Only head-document content changed (read positions, pins, polls): mirror the head. */
  'head-changed': [roomId: string];
  /** A server-written line for the room's timeline (pin/unpin, a new poll). */
  'system-line': [roomId: string, line: { author: string; text: string; system: SystemLine }];
  /** The user's own room list or profile changed (prefs, display name): mirror the user document. */
  'user-changed': [userId: string];
}

export class EventBus extends EventEmitter<DomainEvents> {}
