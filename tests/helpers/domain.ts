/**
 * Unit-test fixtures: the real services on an in-memory SQLite database (same migrations as
 * production), with a fake clock and predictable ids. No HTTP, no Hocuspocus.
 */
import pino from 'pino';
import { openDatabase } from '../../server/db/database.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { buildServices } from '../../server/services.ts';
import type { Clock, Ids } from '../../server/domain/deps.ts';
import type { DomainEvents } from '../../server/domain/deps.ts';

export class FakeClock implements Clock {
  constructor(public t = Date.UTC(2025, 0, 1)) {}
  now() {
    return this.t;
  }
  advance(ms: number) {
    this.t += ms;
  }
}

/** Ids that satisfy the document-name rules (`[A-Za-z0-9_-]{8,40}`) and sort by creation. */
export function sequentialIds(): Ids {
  let n = 0;
  return { next: () => `id${String(++n).padStart(8, '0')}` };
}

export function makeDomain(overrides: Partial<Config> = {}) {
  const db = openDatabase(':memory:');
  const clock = new FakeClock();
  const config = loadConfig({}, { logLevel: 'silent', ...overrides });
  const services = buildServices(db, config, { clock, ids: sequentialIds(), log: pino({ level: 'silent' }) });
  /** Every domain event in order, as the collaboration layer would receive them. */
  const events: { name: keyof DomainEvents; args: unknown[] }[] = [];
  for (const name of ['sessions-revoked', 'member-removed', 'room-changed', 'room-deleted'] as const) {
    services.events.on(name, (...args: unknown[]) => void events.push({ name, args }));
  }
  return { ...services, clock, config, events };
}
export type Domain = ReturnType<typeof makeDomain>;

let counter = 0;

/** Factory: a user row inserted directly (no password hashing; rooms tests do not log in). */
export function makeUser(d: Domain, username = `user_${++counter}`) {
  const id = d.ids.next();
  d.repos.users.insert({ id, username, display_name: username, password_hash: null, is_admin: 0, created_at: d.clock.now() });
  // later members must be "younger" than earlier ones for succession to be observable
  d.clock.advance(1);
  return { id, username };
}

/** Factory: a group room created by `owner` with `members`. */
export function makeRoom(d: Domain, owner: { id: string }, members: { id: string }[], extra: { name?: string; visibility?: 'joined' | 'shared' } = {}) {
  const room = d.rooms.create(owner.id, { name: extra.name ?? 'room', memberIds: members.map((m) => m.id), visibility: extra.visibility });
  d.clock.advance(1);
  return room;
}

/** Records `count` accepted messages in the room's open segment, as the collaboration layer does. */
export function postMessages(d: Domain, roomId: string, count = 1, bytes = 100) {
  for (let i = 0; i < count; i++) {
    d.rooms.reserveMessage(roomId, d.rooms.openSegmentOf(roomId), d.ids.next(), 'author', bytes);
    d.clock.advance(1);
  }
}
