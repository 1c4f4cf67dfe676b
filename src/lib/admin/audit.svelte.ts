/**
 * The audit log screen: the filters being edited, the ones applied (the listing and both export
 * links use the applied ones, so an export is exactly what the table shows), and the page. The
 * server filters by actor and room id: the pickers list the first users and chats, and a click on
 * an entry's actor or chat filters by it (for the rest).
 */
import { handleError } from '$lib/errors/handle-error.ts';
import { adminApi, type AuditEntry, type AuditFilters } from './api.ts';
import { PagedList } from './paged-list.svelte.ts';

export const AUDIT_ACTIONS = [
  'room.kick',
  'room.role',
  'room.rename',
  'room.visibility',
  'room.remove',
  'message.delete',
  'file.delete',
  'admin.user.create',
  'admin.user.disable',
  'admin.user.enable',
  'admin.user.role',
  'admin.user.password',
  'admin.user.delete',
  'admin.session.revoke',
  'admin.room.remove',
  'settings.change',
  'retention.run',
  'auth.admin-login',
  'auth.admin-login-failed',
  'profile.avatar-set',
  'profile.avatar-remove',
] as const;

export interface Choice {
  id: string;
  label: string;
}

const CHOICES = 100;
const EMPTY: AuditFilters = { actor: '', action: '', room: '', from: '', to: '' };

export class AuditLog {
  filters = $state<AuditFilters>({ ...EMPTY });
  applied = $state.raw<AuditFilters>({ ...EMPTY });
  readonly list = new PagedList<AuditEntry>(async (page) => {
    const { entries, total } = await adminApi.audit(this.applied, page);
    return { items: entries, total };
  });

  actors = $state.raw<Choice[]>([]);
  rooms = $state.raw<Choice[]>([]);

  csvUrl = $derived(adminApi.exportUrl(this.applied, 'csv'));
  jsonUrl = $derived(adminApi.exportUrl(this.applied, 'json'));
  active = $derived(Object.values(this.applied).filter((v) => v.trim() !== '').length);

  async loadChoices(): Promise<void> {
    try {
      const [users, rooms] = await Promise.all([adminApi.users('', { limit: CHOICES, offset: 0 }), adminApi.rooms('', { limit: CHOICES, offset: 0 })]);
      this.actors = users.users.map((u) => ({ id: u.id, label: `${u.displayName || u.username} (@${u.username})` }));
      this.rooms = rooms.rooms.map((r) => ({ id: r.id, label: r.name || r.id }));
    } catch (e) {
      handleError(e);
    }
  }

  /** A click on an entry's actor or chat: only that one's entries. */
  narrow(key: 'actor' | 'room', id: string, label: string): Promise<void> {
    const list = key === 'actor' ? this.actors : this.rooms;
    if (!list.some((c) => c.id === id)) {
      if (key === 'actor') this.actors = [...list, { id, label }];
      else this.rooms = [...list, { id, label }];
    }
    this.filters[key] = id;
    return this.apply();
  }

  apply(): Promise<void> {
    this.applied = { ...this.filters };
    return this.list.reload();
  }

  clear(): Promise<void> {
    this.filters = { ...EMPTY };
    return this.apply();
  }
}
