/**
 * The audit log: who did what to what, when and from where. `record` is called inside the
 * transaction of the action it describes, so an action without its entry cannot commit. The client
 * IP comes from the request scope (set by the HTTP router and the collaboration socket).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditQuery, AuditRepo, AuditRow } from '../repos/audit.ts';
import type { UsersRepo } from '../repos/users.ts';
import type { Clock } from './deps.ts';

/** Where the current request comes from (HTTP or a socket). */
export const requestScope = new AsyncLocalStorage<{ ip: string }>();

export interface AuditEntry {
  actorId: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  roomId?: string | null;
  details?: Record<string, unknown>;
  /** When the action did not come through a request scope (a socket's update). */
  ip?: string;
}

export interface AuditView {
  id: number;
  at: number;
  actorId: string | null;
  actorName: string;
  action: string;
  targetType: string;
  targetId: string;
  roomId: string | null;
  ip: string;
  details: Record<string, unknown>;
}

const toView = (r: AuditRow): AuditView => ({
  id: r.id, at: r.at, actorId: r.actor_id, actorName: r.actor_name, action: r.action, targetType: r.target_type,
  targetId: r.target_id, roomId: r.room_id, ip: r.ip, details: JSON.parse(r.details) as Record<string, unknown>,
});

export class AuditService {
  constructor(private d: { audit: AuditRepo; users: UsersRepo; clock: Clock }) {}

  /** Call inside the action's transaction. */
  record(e: AuditEntry): void {
    const actor = e.actorId ? this.d.users.byId(e.actorId) : undefined;
    this.d.audit.insert({
      at: this.d.clock.now(), actor_id: e.actorId, actor_name: actor ? `${actor.display_name} (@${actor.username})` : '',
      action: e.action, target_type: e.targetType ?? '', target_id: e.targetId ?? '', room_id: e.roomId ?? null,
      ip: e.ip ?? requestScope.getStore()?.ip ?? '', details: JSON.stringify(e.details ?? {}),
    });
  }

  query(q: AuditQuery): { entries: AuditView[]; total: number } {
    return { entries: this.d.audit.page(q).map(toView), total: this.d.audit.count(q) };
  }

  /**
   * CSV for Excel on a Korean Windows PC: UTF-8 with a BOM, CRLF line ends, and cells that would
   * start a formula (= + - @, tab, CR) prefixed with an apostrophe (formula injection).
   */
  static csv(entries: AuditView[]): string {
    const cell = (v: unknown) => {
      let s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
      if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
      return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    const header = ['id', 'time (UTC)', 'actor id', 'actor', 'action', 'target type', 'target id', 'room id', 'ip', 'details'];
    const rows = entries.map((e) => [e.id, new Date(e.at).toISOString(), e.actorId, e.actorName, e.action, e.targetType, e.targetId, e.roomId, e.ip, e.details].map(cell).join(','));
    return '\uFEFF' + [header.join(','), ...rows].join('\r\n') + '\r\n';
  }
}
