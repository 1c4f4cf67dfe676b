/** Builds the one set of services from a database handle; used by HTTP, collaboration and tests alike. */
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import { usersRepo } from './repos/users.ts';
import { sessionsRepo } from './repos/sessions.ts';
import { roomsRepo } from './repos/rooms.ts';
import { documentsRepo } from './repos/documents.ts';
import { messagesRepo } from './repos/messages.ts';
import { SessionService } from './auth/sessions.ts';
import { accessPolicy } from './auth/access.ts';
import { RoomService } from './domain/rooms.ts';
import { AccountService } from './domain/accounts.ts';
import { PollService } from './domain/polls.ts';
import { pollsRepo } from './repos/polls.ts';
import { EventBus, randomIds, systemClock, type Clock, type Ids } from './domain/deps.ts';
import { RATE_LIMITS, type RateLimits } from './http/rate-limits.ts';
import { filesRepo } from './repos/files.ts';
import { FileStore } from './files/store.ts';
import { FileService } from './files/service.ts';
import { AvatarService } from './files/avatars.ts';
import { createClamd } from './files/clamav.ts';
import { searchRepo } from './repos/search.ts';
import { SearchService } from './search/service.ts';
import { retentionPolicy } from './collab/retention.ts';
import { auditRepo } from './repos/audit.ts';
import { AuditService, type AuditEntry } from './domain/audit.ts';
import { SettingsService } from './domain/settings.ts';
import { AdminService } from './domain/admin.ts';
import { InviteService } from './domain/invites.ts';
import { oidcIdentitiesRepo } from './repos/oidc-identities.ts';
import { SsoAccounts } from './domain/sso-accounts.ts';
import { OidcClient } from './auth/oidc.ts';
import { LoginLockout } from './auth/lockout.ts';

export const VERSION = '0.1.0';

export interface ServiceOptions {
  clock?: Clock;
  ids?: Ids;
  log?: Logger;
  rateLimits?: Partial<RateLimits>;
  /** How often failed scans are retried (ms; tests shorten it). */
  scanRetryMs?: number;
}

export function buildServices(db: Db, config: Config, opts: ServiceOptions = {}) {
  const clock = opts.clock ?? systemClock;
  const ids = opts.ids ?? randomIds;
  const log = opts.log ?? pino({ level: config.logLevel });
  const events = new EventBus();
  const users = usersRepo(db);
  const rooms = roomsRepo(db);
  const documents = documentsRepo(db);
  const messages = messagesRepo(db);
  const sessions = new SessionService(sessionsRepo(db), users, clock, events, config.sessionDays * 24 * 3600 * 1000);
  const access = accessPolicy(rooms);
  const audit = new AuditService({ audit: auditRepo(db), users, clock });
  const settings = new SettingsService({ audit: auditRepo(db), clock, config });
  const record = (e: AuditEntry) => audit.record(e);
  const retention = retentionPolicy(() => settings.get().retentionDays, clock);
  const search = new SearchService({
    db, search: searchRepo(db), access, messages, documents, horizon: () => retention.horizon(),
    names: { user: (id) => users.byId(id)?.display_name ?? null, room: (id) => rooms.byId(id)?.name ?? null },
  });
  const roomService = new RoomService({
    db, rooms, messages, documents, users, access, clock, ids, events, segmentMaxMessages: config.segmentMaxMessages, segmentMaxBytes: config.segmentMaxBytes,
    removeSearchInTx: (roomId) => search.removeRoomInTx(roomId),
    audit: record,
  });
  const pollsData = pollsRepo(db);
  const polls = new PollService({ polls: pollsData, access, clock, ids, events });
  const fileStore = new FileStore(config.dataDir);
  const files = new FileService({
    db, files: filesRepo(db), pollsRepo: pollsData, polls, access, store: fileStore, clock, ids, log,
    limits: { maxBytes: config.uploadMaxBytes, types: config.uploadTypes, tokenTtlMs: config.uploadTokenTtlSec * 1000 },
    clamd: config.avScan === 'clamav'
      ? createClamd(config.clamdSocket ? { socket: config.clamdSocket } : { host: config.clamdHost!, port: config.clamdPort })
      : null,
    orphanTtlMs: config.uploadOrphanHours * 3600 * 1000,
    horizon: () => retention.horizon(),
    reindex: (roomId, message) => search.indexInTx(roomId, message, null),
    avEnabled: () => settings.get().avScan,
    audit: record,
    scanRetryMs: opts.scanRetryMs ?? 30_000,
  });
  const avatars = new AvatarService({
    db, users, store: fileStore, clock, audit: record, events,
    roomIdsOf: (id) => roomService.roomIdsOf(id), forgetUser: (id) => sessions.forgetUser(id),
  });
  const rateLimits = { ...RATE_LIMITS, ...opts.rateLimits } as RateLimits;
  const invites = new InviteService({ db, clock, ids, audit: record });
  const accounts = new AccountService({ db, users, sessions, rooms: roomService, clock, ids, registration: () => settings.get().registration, invites, events, audit: record, ssoOnly: config.oidcOnly,
    lockout: new LoginLockout(rateLimits.lockout, clock),
  });
  // single sign-on (null when OIDC_ISSUER is unset)
  const oidc = config.oidcIssuer && config.oidcClientId && config.oidcRedirectUri
    ? new OidcClient({ issuer: config.oidcIssuer, clientId: config.oidcClientId, clientSecret: config.oidcClientSecret, redirectUri: config.oidcRedirectUri, name: config.oidcName }, clock, log)
    : null;
  const sso = new SsoAccounts({ db, users, identities: oidcIdentitiesRepo(db), sessions, clock, ids, audit: record, usernameClaim: config.oidcUsernameClaim });
  // upload limits follow the settings (stored ones at start, then every change)
  settings.onChange((s) => files.setLimits({ maxBytes: s.uploadMaxBytes, types: s.uploadTypes }));
  const admin = new AdminService({
    db, users, rooms, roomService, accounts, sessions, audit, settings, clock, events, avAvailable: config.avScan === 'clamav',
  });
  return {
    db, config, clock, ids, log, events, version: VERSION,
    rateLimits,
    repos: { users, rooms, documents, messages },
    users, sessions, access, accounts,
    oidc,
    sso,
    rooms: roomService,
    polls,
    files,
    fileStore,
    avatars,
    search,
    retention,
    audit,
    settings,
    admin,
    invites,
  };
}
export type Services = ReturnType<typeof buildServices>;
