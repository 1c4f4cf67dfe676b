/** The audit log and the stored settings. */
import type { Db } from '../db/database.ts';

export interface AuditRow {
  id: number;
  at: number;
  actor_id: string | null;
  actor_name: string;
  action: string;
  target_type: string;
  target_id: string;
  room_id: string | null;
  ip: string;
  details: string;
}

export interface AuditQuery {
  actor: string | null;
  action: string | null;
  room: string | null;
  from: number | null;
  to: number | null;
  limit: number;
  offset: number;
}

export function auditRepo(db: Db) {
  const where = `(@actor IS NULL OR actor_id = @actor) AND (@action IS NULL OR action = @action OR action LIKE @actionPrefix)
    AND (@room IS NULL OR room_id = @room) AND (@from IS NULL OR at >= @from) AND (@to IS NULL OR at <= @to)`;
  const s = {
    insert: db.prepare(`INSERT INTO audit_log (at, actor_id, actor_name, action, target_type, target_id, room_id, ip, details)
                        VALUES (@at, @actor_id, @actor_name, @action, @target_type, @target_id, @room_id, @ip, @details)`),
    page: db.prepare(`SELECT * FROM audit_log WHERE ${where} ORDER BY at DESC, id DESC LIMIT @limit OFFSET @offset`),
    count: db.prepare(`SELECT COUNT(*) FROM audit_log WHERE ${where}`).pluck(),
    setting: db.prepare('SELECT value FROM settings WHERE key = ?').pluck(),
    settings: db.prepare('SELECT key, value FROM settings'),
    putSetting: db.prepare(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
                            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
  };
  const params = (q: AuditQuery) => ({ ...q, actionPrefix: q.action ? `${q.action.replace(/[%_]/g, '')}.%` : null });
  return {
    insert: (row: Omit<AuditRow, 'id'>) => Number(s.insert.run(row).lastInsertRowid),
    page: (q: AuditQuery) => s.page.all(params(q)) as AuditRow[],
    count: (q: AuditQuery) => s.count.get(params(q)) as number,
    settings: () => Object.fromEntries((s.settings.all() as { key: string; value: string }[]).map((r) => [r.key, JSON.parse(r.value)])) as Record<string, unknown>,
    putSetting: (key: string, value: unknown, at: number) => void s.putSetting.run(key, JSON.stringify(value), at),
  };
}
export type AuditRepo = ReturnType<typeof auditRepo>;
