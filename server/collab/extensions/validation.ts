/**
 * Validation: every client update is checked (SPEC §4) against the document it will be applied to,
 * and counted against the writer's rate limit, before Hocuspocus applies it.
 *
 * - beforeSync fires for every sync step 2 / update of a client before it is applied (sync step 1
 *   carries only a state vector). Throwing refuses the update as a whole: nothing is applied and the
 *   document connection is closed with the code as reason. A passing update's result waits in
 *   `WritePath.pending` for the storage extension, which commits it with the apply.
 * - afterHandleMessage fires after the message was handled (applied or not): what was validated but
 *   never applied (nothing new in it, or the apply threw) releases its claims; edits that landed on
 *   the sealed copy of a moved message are forwarded (not awaited: see there).
 * - beforeHandleAwareness: presence does not ride on awareness; refusing it keeps the
 *   15-second awareness renewal storm off the server.
 */
import type { Extension, afterHandleMessagePayload, beforeSyncPayload } from '@hocuspocus/server';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import * as Y from 'yjs';
import type { AccessPolicy } from '../../auth/access.ts';
import type { Clock } from '../../domain/deps.ts';
import type { RoomService } from '../../domain/rooms.ts';
import type { PollService } from '../../domain/polls.ts';
import type { FileService } from '../../files/service.ts';
import { DomainError } from '../../domain/errors.ts';
import type { RateLimits } from '../../http/rate-limits.ts';
import { checkReadOnlyUpdate, validateSegmentUpdate } from '../validate.ts';
import type { WritePath } from '../write-path.ts';
import { refusal, type CollabContext } from '../context.ts';

export interface ValidationConfig {
  access: AccessPolicy;
  roomService: RoomService;
  polls: PollService;
  files: FileService;
  writes: WritePath;
  rateLimits: RateLimits;
  maxMessageChars: number;
  maxUpdateBytes: number;
  clock: Clock;
  /** Updates arriving this soon after a document (re)authenticates count as the offline backlog. */
  backlogGraceMs: number;
  metrics?: { accepted(): void; refused(code: string): void };
  /** Whether this instance is the loaded one (an update applied to an unloaded instance would be lost). */
  isLive: (doc: Y.Doc) => boolean;
  /** The arrival ticket of the frame a payload came in (arrivals.ts). */
  arrivalOf?: (payload: Uint8Array) => number | undefined;
  log: Logger;
}

export class Validation implements Extension {
  extensionName = 'validation';
  priority = 900;
  /** Bumped on every update of a loaded document: tells whether validation must run again. */
  private versions = new WeakMap<Y.Doc, number>();
  private segmentExists = new WeakSet<Y.Doc>();
  /** Refused updates by code since start (the dashboard's figures). */
  readonly refusals = new Map<string, number>();
  private messageLimiter: RateLimiterMemory;
  // what was written offline arrives at once in the reconnect's sync step 2: its own, larger budget
  private backlogLimiter: RateLimiterMemory;

  constructor(private configuration: ValidationConfig) {
    const l = configuration.rateLimits;
    this.messageLimiter = new RateLimiterMemory({ points: l.messages.points, duration: l.messages.durationSec });
    this.backlogLimiter = new RateLimiterMemory({ points: l.backlog.points, duration: l.backlog.durationSec });
  }

  /** Called by the storage extension when an instance loads. */
  watch(doc: Y.Doc): void {
    doc.on('update', () => this.versions.set(doc, (this.versions.get(doc) ?? 0) + 1));
  }

  async beforeSync({ type, payload, document, documentName, context, connection }: beforeSyncPayload<CollabContext>): Promise<void> {
    if (type === 0 || context.server) return;
    const c = this.configuration;
    try {
      if (payload.byteLength > c.maxUpdateBytes) throw new DomainError('update-too-large');
      // A connection can be handed an instance that finished unloading (a Hocuspocus race); frames
      // it queued run before `connected` can ask it to re-sync. Applied there, an update would be
      // acknowledged and never stored: re-sync onto the live instance instead.
      if (!c.isLive(document)) throw new DomainError('resync');
      const access = context.access!;
      if (access.segment === null) return checkReadOnlyUpdate(document, payload);
      if (!this.segmentExists.has(document)) {
        // segments are never removed while their documents have connections (room removal closes them)
        if (!c.roomService.segment(access.roomId, access.segment)) throw new DomainError('segment-closed');
        this.segmentExists.add(document);
      }
      const userId = context.user!.id;
      const validate = () =>
        validateSegmentUpdate(document, payload, { userId, isRoomAdmin: () => c.access.moderates(userId, access.roomId) }, {
          maxChars: c.maxMessageChars,
          clientOwner: (client) => c.writes.clientOwner(documentName, client),
          messageSegment: (id) => c.writes.messageSegment(access.roomId, id),
          checkVote: (pollId, optionIds) => (c.polls.roomOf(pollId) === access.roomId ? c.polls.checkDocumentVote(pollId, optionIds) : 'invalid-option'),
          checkAttachment: (a) => c.files.checkAttachment(userId, access.roomId, a),
        });
      let result = validate();
      if (result.writes > 0) {
        const versionBefore = this.versions.get(document) ?? 0;
        // a sync step 2, or updates right after (re)authenticating: what was written offline
        const backlog = type === 1 || c.clock.now() - (context.authAt ?? 0) < c.backlogGraceMs;
        const limiter = backlog ? this.backlogLimiter : this.messageLimiter;
        // a refused update must not spend the budget: the client re-sends the same writes after a
        // wait, and counting each refused attempt would lock an honest backlog out for the window
        const used = (await limiter.get(userId))?.consumedPoints ?? 0;
        if (used + result.writes > limiter.points) throw new DomainError('rate-limited');
        try {
          await limiter.consume(userId, result.writes);
        } catch (e) {
          if (e instanceof RateLimiterRes) throw new DomainError('rate-limited');
          throw e;
        }
        // another connection's update may have been applied while we waited: validate against it
        if ((this.versions.get(document) ?? 0) !== versionBefore) result = validate();
      }
      // from here to the apply there is no await of ours: the state validated is the state applied
      const pending = { result, access, userId, ip: context.socket?.ip, order: c.arrivalOf?.(payload) };
      c.writes.pending.set(connection, pending);
      c.writes.claim(documentName, pending);
      c.metrics?.accepted();
    } catch (e) {
      if (!(e instanceof DomainError)) c.log.error({ err: e, documentName }, 'update validation crashed');
      else {
        this.refusals.set(e.code, (this.refusals.get(e.code) ?? 0) + 1);
        c.metrics?.refused(e.code);
        c.log.info({ documentName, code: e.code, detail: e.message, user: context.user?.id, type }, 'update refused');
      }
      throw refusal(e);
    }
  }

  async afterHandleMessage({ connection, document, documentName }: afterHandleMessagePayload<CollabContext>): Promise<void> {
    const c = this.configuration;
    const p = c.writes.pending.get(connection);
    if (p) {
      // validated but nothing was applied (all of it was known already): nothing to commit
      c.writes.pending.delete(connection);
      c.writes.release(documentName, p);
    }
    const done = c.writes.lastApplied.get(connection);
    if (!done) return;
    c.writes.lastApplied.delete(connection);
    if (document.store.pendingStructs || document.store.pendingDs) c.log.error({ documentName }, 'an accepted update left pending structs');
    // not awaited: this document's next frames must not wait for a server write (a direct
    // connection can load a document, which takes longer than a turn); every frame that arrives in
    // a turn is then applied in it, and its batch commits them in arrival order (arrivals.ts)
    if (done.result.changed.length) {
      c.writes.forwardEdits(document, done.access.roomId, done.access.segment!, done.result.changed).catch((err) => c.log.error({ err, documentName }, 'forwarding edits failed'));
    }
  }

  async beforeHandleAwareness(): Promise<void> {
    throw refusal(new DomainError('forbidden', 'Awareness is not enabled.'));
  }
}
