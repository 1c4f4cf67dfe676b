/** How an audit entry reads in the table: its target by name, its details in one line. Pure. */
import type { AuditEntry } from './api.ts';
import { formatSize } from './format.ts';

/** Detail keys that name the target (shown there, not again among the details). */
const NAME_KEYS = ['username', 'name'] as const;

const record = (d: unknown): Record<string, unknown> => (d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : {});

export function auditTarget(e: AuditEntry): { type: string; name: string } {
  const d = record(e.details);
  const username = typeof d.username === 'string' ? `@${d.username}` : '';
  const name = typeof d.name === 'string' ? d.name : '';
  // a settings change names its keys as the target id: the details say them better
  const id = e.targetType === 'settings' ? '' : (e.targetId ?? '');
  return { type: e.targetType ?? '', name: username || name || id };
}

function value(key: string, v: unknown, locale: string): string {
  const r = record(v);
  if ('from' in r && 'to' in r) {
    // a list change says what came and went, not both lists
    if (Array.isArray(r.from) && Array.isArray(r.to)) {
      const from = r.from.map(String);
      const to = r.to.map(String);
      return [...to.filter((x) => !from.includes(x)).map((x) => `+${x}`), ...from.filter((x) => !to.includes(x)).map((x) => `−${x}`)].join(' ');
    }
    return `${value(key, r.from, locale)} → ${value(key, r.to, locale)}`;
  }
  if (typeof v === 'number' && /bytes$/i.test(key)) return formatSize(v, locale);
  if (Array.isArray(v)) return v.map((x) => value(key, x, locale)).join(' ');
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** `key: value` pairs; a `{ from, to }` change as `from → to`, sizes in words. */
export function auditDetails(e: AuditEntry, locale: string): string {
  if (typeof e.details === 'string') return e.details;
  return Object.entries(record(e.details))
    .filter(([k]) => !(NAME_KEYS as readonly string[]).includes(k))
    .map(([k, v]) => `${k}: ${value(k, v, locale)}`)
    .join(', ');
}
