/**
 * Validates a client's Yjs update for a segment document *before* it is applied.
 *
 * The segment schema makes every client write one entry of the root map `messages` whose value is a
 * plain object (ContentAny). So each struct in an update either names its parent (root + key) or
 * points at an origin item whose parent we look up: in the update itself or with one binary search
 * in the document's struct store. Cost grows with the update, not with the document.
 *
 * Rules (SPEC §4): only `messages`, `reactions` and `votes` may be written; values follow the schema;
 * a new message carries its writer as author; only the author edits; the author or a room admin
 * deletes (content erased); deleted messages and system lines are final; reactions and votes are
 * keyed by their user and only that user writes them; a vote passes the poll's rules at vote time;
 * deletions only remove the previous value of a key the same update rewrites (or one's own
 * reaction); a Yjs client id belongs to one user (the server's own ids belong to nobody else).
 *
 * Two rules about what the update will be applied to:
 * - Every struct that becomes the value of a map key is a write to that key by its sender, whatever
 *   its content: a struct with `ContentDeleted` is not skipped (Yjs integrates it as the newest item
 *   of its key, which deletes the previous value). It passes only as the intermediate of a key the
 *   same update writes with checked content, or as the removal of one's own reaction.
 * - An update must integrate at once: a struct whose clock is ahead of the document (a gap), a
 *   `Skip`, or an origin the server does not have would be parked by Yjs in its pending structs and
 *   integrated later against a state nobody validated. Such an update is refused with the transient
 *   `missing-dependency` (the client re-syncs), never stored as pending.
 *
 * Message ids are unique per room: a message new to this segment whose id the room already has
 * (in any segment, or claimed by an update being committed) is refused with `duplicate-id`.
 */
import * as Y from 'yjs';
import { checkMessageShape, parseReactionKey, SEGMENT_MESSAGES, SEGMENT_REACTIONS, SEGMENT_RECEIPTS, SEGMENT_VOTES, type Attachment, type Message } from '../../src/lib/protocol/schema.ts';
import { DomainError, fail, type ErrorCode } from '../domain/errors.ts';

export interface Actor {
  userId: string;
  /** Asked only when a deletion of someone else's message needs it. */
  isRoomAdmin: () => boolean;
}

export interface ValidationResult {
  /** Messages that did not exist before this update (rate limit, receipts), in writing order. */
  newMessages: { id: string; bytes: number; author: string }[];
  /** Client ids written with, to bind to the user once the update is applied. */
  clientIds: number[];
  /** Message entries written (posts, edits, deletes): what the per-user rate limit counts. */
  writes: number;
  /** Existing messages that were edited or deleted. */
  changed: string[];
  /** Votes cast (checked against the poll already; recorded after the update is applied). */
  votes: { pollId: string; optionIds: string[] }[];
  /** Files of new messages, of every value written for each (tokens checked; those of the value kept are spent). */
  attachments: { messageId: string; fileIds: string[] }[];
  /** Others' messages this update deletes (a room admin moderating: audited). */
  moderated: { messageId: string; author: string }[];
  /** Files of messages this update deletes (removed in the commit, if the tombstone is what Yjs kept). */
  removedFiles: { messageId: string; fileIds: string[] }[];
}

type Struct = Y.Item | Y.GC | Y.Skip;
interface Placement {
  root: string | null;
  key: string | null;
}

const MAX_DELETE_WALK = 20_000;

export function validateSegmentUpdate(
  doc: Y.Doc,
  update: Uint8Array,
  actor: Actor,
  opts: {
    maxChars: number;
    clientOwner: (clientId: number) => string | undefined;
    /** The segment a message id of this room counts in (or is claimed for), if it has one. */
    messageSegment: (messageId: string) => number | undefined;
    /** The poll rules at vote time (returns a refusal code or null). */
    checkVote: (pollId: string, optionIds: string[]) => ErrorCode | null;
    /** The one-time upload token of an attachment of a new message (returns a refusal code or null). */
    checkAttachment: (attachment: Attachment) => ErrorCode | null;
  },
): ValidationResult {
  let decoded: { structs: Struct[]; ds: { clients: Map<number, { clock: number; len: number }[]> } };
  try {
    decoded = Y.decodeUpdate(update) as unknown as typeof decoded;
  } catch {
    return fail('malformed-update');
  }

  const inUpdate = new Map<number, Struct[]>(); // client -> structs of this update (ordered by clock)
  for (const s of decoded.structs) {
    const list = inUpdate.get(s.id.client);
    if (list) list.push(s);
    else inUpdate.set(s.id.client, [s]);
  }

  // 0. the update integrates at once: per client, contiguous from at most the document's clock
  for (const [client, list] of inUpdate) {
    let next = Y.getState(doc.store, client);
    for (const s of list) {
      if (s instanceof Y.Skip || s.id.clock > next) fail('missing-dependency', 'The update has a gap in its clocks.');
      next = Math.max(next, s.id.clock + s.length);
    }
  }

  // 1. client ids: each belongs to one user; the server's are nobody else's
  const clientIds: number[] = [];
  for (const client of inUpdate.keys()) {
    if (client === doc.clientID) fail('client-id-taken', "That is the server's Yjs client id.");
    const owner = opts.clientOwner(client);
    if (owner !== undefined && owner !== actor.userId) fail('client-id-taken');
    if (owner === undefined) clientIds.push(client);
  }

  // The document's copy wins: an update may repeat structs the server already has (a sync step 2
  // computed against a state vector that was stale by the time it arrived), and only the document
  // knows whether those are deleted.
  const isOwn = (client: number) => clientIds.includes(client) || opts.clientOwner(client) === actor.userId;

  const findStruct = (id: Y.ID): Struct | null => {
    if (Y.getState(doc.store, id.client) > id.clock) return Y.getItem(doc.store, id) as Struct;
    const list = inUpdate.get(id.client);
    if (list) {
      for (const s of list) if (s.id.clock <= id.clock && id.clock < s.id.clock + s.length) return s;
    }
    return null;
  };

  const placements = new Map<Struct, Placement>();
  const placementOf = (s: Struct, depth = 0): Placement => {
    const known = placements.get(s);
    if (known) return known;
    let p: Placement = { root: null, key: null };
    if (s instanceof Y.Item) {
      const parent = s.parent as unknown;
      if (typeof parent === 'string') p = { root: parent, key: s.parentSub };
      else if (parent instanceof Y.AbstractType) {
        p = parent._item === null ? { root: Y.findRootTypeKey(parent), key: s.parentSub } : { root: null, key: null };
      } else if (parent instanceof Y.ID) p = { root: null, key: null }; // nested types are not part of the schema
      else {
        const originId = s.origin ?? s.rightOrigin;
        const origin = originId ? findStruct(originId) : null;
        if (!origin && originId && isOwn(originId.client)) {
          // the writer's own content that has not reached us yet (an update that overtook the sync
          // step 2 after a reconnect): transient, the client re-syncs the document (PROTOCOL.md)
          fail('missing-dependency');
        }
        if (!origin || depth > 64) fail('schema-violation', 'The update depends on content the server does not have.');
        p = placementOf(origin!, depth + 1);
      }
    }
    placements.set(s, p);
    return p;
  };

  const map = doc.getMap(SEGMENT_MESSAGES);
  const written = new Set<string>(); // message ids
  const reactionsWritten = new Set<string>();
  const votesWritten = new Set<string>();
  const newMessages: { id: string; bytes: number; author: string; createdAt: number; clock: number }[] = [];
  const deletedOn = new Map<string, string>(); // `${root}\u0000${key}` of ContentDeleted structs -> root
  const changed: string[] = [];
  const votes: { pollId: string; optionIds: string[] }[] = [];
  const attachments = new Map<string, string[]>(); // message id -> file ids, of new messages
  const removedFiles = new Map<string, string[]>(); // message id -> its files, of messages this update deletes
  const moderated = new Map<string, string>(); // message id -> author, of others' messages deleted
  const contentOf = (s: Y.Item): unknown => {
    if (!(s.content instanceof Y.ContentAny) || s.content.arr.length !== 1) fail('schema-violation');
    return (s.content as Y.ContentAny).arr[0];
  };

  // 2. every struct the document does not have yet
  for (const s of decoded.structs) {
    if (s.id.clock + s.length <= Y.getState(doc.store, s.id.client)) continue; // already integrated
    if (!(s instanceof Y.Item)) continue; // GC / Skip carry no content
    const { root, key } = placementOf(s);
    if (root === SEGMENT_RECEIPTS) fail('server-owned');
    if (key === null) fail('schema-violation');
    if (s.content instanceof Y.ContentDeleted) {
      // a write to the key all the same: checked below, once every struct of the update is known
      if (root !== SEGMENT_MESSAGES && root !== SEGMENT_REACTIONS && root !== SEGMENT_VOTES) fail('schema-violation');
      deletedOn.set(`${root}\u0000${key}`, root!);
      continue;
    }
    if (root === SEGMENT_MESSAGES) {
      const value = contentOf(s);
      const shape = checkMessageShape(key!, value, opts.maxChars);
      if (shape) fail(shape);
      const existing = map.get(key!) as Message | undefined;
      checkWrite(existing, value as Message, actor);
      if (!existing) {
        // a new message's files, each with its token. Concurrent structs for one key are resolved
        // by Yjs by client id, not by their order here: every value's files are checked and
        // claimed, and the write path spends the tokens of the value the document kept.
        const files = (value as Message).attachments;
        if (files) {
          for (const a of files) {
            for (const [other, ids] of attachments) if (other !== key && ids.includes(a.id)) fail('upload-token-used');
            const code = opts.checkAttachment(a);
            if (code) fail(code);
          }
          attachments.set(key!, [...new Set([...(attachments.get(key!) ?? []), ...files.map((a) => a.id)])]);
        }
      } else if ((value as Message).deleted) {
        // removed in the commit if the tombstone is what the document kept
        if (existing.attachments?.length) removedFiles.set(key!, existing.attachments.map((a) => a.id));
        if (existing.author !== actor.userId && !existing.deleted) moderated.set(key!, existing.author);
      }
      if (!map.has(key!) && !written.has(key!)) {
        if (opts.messageSegment(key!) !== undefined) fail('duplicate-id');
        const m = value as Message;
        newMessages.push({ id: key!, bytes: JSON.stringify(value).length, author: m.author, createdAt: m.createdAt, clock: s.id.clock });
      }
      else if (map.has(key!) && !written.has(key!)) changed.push(key!);
      written.add(key!);
    } else if (root === SEGMENT_REACTIONS) {
      const parsed = parseReactionKey(key!);
      if (!parsed) fail('schema-violation', 'Bad reaction key.');
      if (parsed!.userId !== actor.userId) fail('forged-author');
      const value = contentOf(s) as Record<string, unknown>;
      if (typeof value !== 'object' || value === null || Object.keys(value).join() !== 'at' || typeof value.at !== 'number') fail('schema-violation');
      const target = map.get(parsed!.messageId) as Message | undefined;
      if (!target && !written.has(parsed!.messageId)) fail('schema-violation', 'No such message in this segment.');
      reactionsWritten.add(key!);
    } else if (root === SEGMENT_VOTES) {
      const value = contentOf(s) as Record<string, unknown>;
      const [pollId, userId, extra] = key!.split('|');
      if (extra !== undefined || !pollId || !userId) fail('schema-violation', 'Bad vote key.');
      if (userId !== actor.userId) fail('not-your-vote');
      if (typeof value !== 'object' || value === null || Object.keys(value).sort().join() !== 'at,optionIds,pollId') fail('schema-violation');
      if (value.pollId !== pollId || typeof value.at !== 'number' || !Array.isArray(value.optionIds) || value.optionIds.some((o) => typeof o !== 'string')) fail('schema-violation');
      const code = opts.checkVote(pollId, value.optionIds as string[]);
      if (code) fail(code);
      votes.push({ pollId, optionIds: value.optionIds as string[] });
      votesWritten.add(key!);
    } else fail('schema-violation');
  }

  // 2b. deleted-content structs: only as the intermediate of a key this update writes with checked
  //     content, or the removal of one's own reaction (un-react)
  for (const [k, root] of deletedOn) {
    const key = k.slice(root.length + 1);
    if (root === SEGMENT_MESSAGES) {
      if (!written.has(key)) fail(map.has(key) ? 'not-author' : 'schema-violation', 'A message is removed by writing a tombstone, not by deleting its entry.');
    } else if (root === SEGMENT_VOTES) {
      if (!votesWritten.has(key)) fail(key.split('|')[1] === actor.userId ? 'schema-violation' : 'not-your-vote');
    } else {
      const parsed = parseReactionKey(key);
      if (!parsed) fail('schema-violation', 'Bad reaction key.');
      if (parsed!.userId !== actor.userId) fail('forged-author');
      reactionsWritten.add(key);
    }
  }

  // 3. deletions: a message or vote only as the previous value of a key this update rewrites;
  //    a reaction also by its own user (un-react)
  let walked = 0;
  for (const [client, ranges] of decoded.ds.clients) {
    for (const { clock, len } of ranges) {
      for (let c = clock; c < clock + len; ) {
        if (++walked > MAX_DELETE_WALK) fail('update-too-large');
        const s = findStruct(new Y.ID(client, c));
        if (!s) {
          // deleting what nobody has written yet would erase a future message of someone else; and
          // Yjs would keep even one's own such deletion pending, to apply it later unvalidated
          if (!isOwn(client)) fail('schema-violation');
          fail('missing-dependency', 'The update deletes content the server does not have.');
        }
        c = s!.id.clock + s!.length;
        if (!(s instanceof Y.Item) || s.deleted) continue;
        const { root, key } = placementOf(s);
        if (key === null) fail('schema-violation');
        if (root === SEGMENT_MESSAGES && written.has(key!)) continue;
        if (root === SEGMENT_VOTES && votesWritten.has(key!)) continue;
        if (root === SEGMENT_REACTIONS && (reactionsWritten.has(key!) || parseReactionKey(key!)?.userId === actor.userId)) {
          reactionsWritten.add(key!);
          continue;
        }
        if (root === SEGMENT_RECEIPTS) fail('server-owned');
        fail('not-author', 'Only your own entries can be removed, and messages only replaced.');
      }
    }
  }

  // receipts follow the author's writing order, whatever client ids the writes came from (an
  // offline backlog written across reloads arrives as one update with several client ids)
  newMessages.sort((a, b) => a.createdAt - b.createdAt || a.clock - b.clock);
  return {
    newMessages: newMessages.map(({ id, bytes, author }) => ({ id, bytes, author })),
    clientIds,
    writes: written.size + reactionsWritten.size + votesWritten.size,
    changed,
    votes,
    attachments: [...attachments].map(([messageId, fileIds]) => ({ messageId, fileIds })),
    removedFiles: [...removedFiles].map(([messageId, fileIds]) => ({ messageId, fileIds })),
    moderated: [...moderated].map(([messageId, author]) => ({ messageId, author })),
  };
}

/** Attachments compared by value, whatever order an encoder wrote their keys in. */
const canonicalFiles = (list: Attachment[] | undefined) =>
  JSON.stringify((list ?? []).map((a) => [a.id, a.token, a.name, a.size, a.type, a.width ?? null, a.height ?? null]));

function checkWrite(existing: Message | undefined, next: Message, actor: Actor): void {
  if (!existing) {
    // may already be a tombstone: written and deleted offline before it reached the server
    if (next.author !== actor.userId) fail('forged-author');
    return;
  }
  if (existing.deleted) throw new DomainError('forbidden', 'A deleted message cannot change.');
  if (existing.system) fail('server-owned', 'System lines cannot change.');
  if (next.author !== existing.author) fail('forged-author');
  if (next.createdAt !== existing.createdAt || next.replyTo !== existing.replyTo) fail('server-owned', 'createdAt and replyTo are fixed.');
  if (!next.deleted && canonicalFiles(next.attachments) !== canonicalFiles(existing.attachments)) fail('server-owned', 'Attachments are fixed once sent.');
  if (next.deleted) {
    if (existing.author !== actor.userId && !actor.isRoomAdmin()) fail('not-author');
    return;
  }
  if (existing.author !== actor.userId) fail('not-author');
  if (next.editedAt === undefined) fail('schema-violation', 'An edit carries editedAt.');
}

/** The head document is written by the server only: refuse any update that would change it. */
export function checkReadOnlyUpdate(doc: Y.Doc, update: Uint8Array): void {
  let contains: boolean;
  try {
    contains = Y.snapshotContainsUpdate(Y.snapshot(doc), update);
  } catch {
    return fail('malformed-update');
  }
  if (!contains) fail('read-only');
}
