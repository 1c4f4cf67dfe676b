/**
 * The server settings form: the settings as saved on the server, the admin's draft, what differs,
 * and — after a save — what changed (the server applies it at once and publishes it in
 * `/api/config`, so the list reads as "in effect now").
 */
import { ApiError } from '$lib/api/client.ts';
import { saveSettings } from '$lib/actions/admin.ts';
import { handleError } from '$lib/errors/handle-error.ts';
import { adminApi, type AdminSettings, type Registration, type SettingsPatch } from './api.ts';
import { bytesToMb, mbToBytes } from './format.ts';

export interface Draft {
  registration: Registration;
  retentionDays: number;
  uploadMaxMb: number;
  uploadTypes: string[];
  avScan: boolean;
}

export type Change =
  | { field: 'registration'; from: Registration; to: Registration }
  | { field: 'retentionDays' | 'uploadMaxBytes'; from: number; to: number }
  | { field: 'uploadTypes'; added: string[]; removed: string[] }
  | { field: 'avScan'; from: boolean; to: boolean };

export const toDraft = (s: AdminSettings): Draft => ({
  registration: s.registration,
  retentionDays: s.retentionDays,
  uploadMaxMb: bytesToMb(s.uploadMaxBytes),
  uploadTypes: [...s.uploadTypes],
  avScan: s.avScan,
});

/** The fields of `draft` that differ from `saved`, as a patch for the server. */
export function patchOf(saved: AdminSettings, draft: Draft): SettingsPatch {
  const patch: SettingsPatch = {};
  if (draft.registration !== saved.registration) patch.registration = draft.registration;
  if (draft.retentionDays !== saved.retentionDays) patch.retentionDays = draft.retentionDays;
  // the field shows one decimal: an unchanged field must not round the stored limit
  if (draft.uploadMaxMb !== bytesToMb(saved.uploadMaxBytes)) patch.uploadMaxBytes = mbToBytes(draft.uploadMaxMb);
  const types = new Set(draft.uploadTypes);
  if (types.size !== saved.uploadTypes.length || saved.uploadTypes.some((t) => !types.has(t))) patch.uploadTypes = saved.knownUploadTypes.filter((t) => types.has(t));
  if (draft.avScan !== saved.avScan) patch.avScan = draft.avScan;
  return patch;
}

/** What differs between two saved states, for the "changed" summary. */
export function changesBetween(a: AdminSettings, b: AdminSettings): Change[] {
  const out: Change[] = [];
  if (a.registration !== b.registration) out.push({ field: 'registration', from: a.registration, to: b.registration });
  if (a.retentionDays !== b.retentionDays) out.push({ field: 'retentionDays', from: a.retentionDays, to: b.retentionDays });
  if (a.uploadMaxBytes !== b.uploadMaxBytes) out.push({ field: 'uploadMaxBytes', from: a.uploadMaxBytes, to: b.uploadMaxBytes });
  const added = b.uploadTypes.filter((t) => !a.uploadTypes.includes(t));
  const removed = a.uploadTypes.filter((t) => !b.uploadTypes.includes(t));
  if (added.length || removed.length) out.push({ field: 'uploadTypes', added, removed });
  if (a.avScan !== b.avScan) out.push({ field: 'avScan', from: a.avScan, to: b.avScan });
  return out;
}

export function validDraft(d: Draft): boolean {
  return Number.isInteger(d.retentionDays) && d.retentionDays >= 0 && Number.isFinite(d.uploadMaxMb) && d.uploadMaxMb > 0;
}

export class SettingsForm {
  saved = $state.raw<AdminSettings | null>(null);
  draft = $state<Draft | null>(null);
  status = $state<'loading' | 'ready' | 'saving' | 'failed'>('loading');
  denied = $state(false);
  /** What the last save changed, shown until the next edit. */
  applied = $state.raw<Change[] | null>(null);

  patch = $derived(this.saved && this.draft ? patchOf(this.saved, this.draft) : {});
  dirty = $derived(Object.keys(this.patch).length > 0);
  valid = $derived(this.draft ? validDraft(this.draft) : false);

  async load(): Promise<void> {
    this.status = 'loading';
    try {
      const { settings } = await adminApi.settings();
      this.saved = settings;
      this.draft = toDraft(settings);
      this.status = 'ready';
    } catch (e) {
      this.status = 'failed';
      if (e instanceof ApiError && e.status === 404) this.denied = true;
      else handleError(e);
    }
  }

  toggleType(type: string, on: boolean): void {
    if (!this.draft) return;
    const set = new Set(this.draft.uploadTypes);
    if (on) set.add(type);
    else set.delete(type);
    this.draft.uploadTypes = [...set];
  }

  reset(): void {
    if (this.saved) this.draft = toDraft(this.saved);
  }

  async save(): Promise<void> {
    const before = this.saved;
    if (!before || !this.dirty || !this.valid || this.status === 'saving') return;
    this.status = 'saving';
    const next = await saveSettings(this.patch);
    this.status = 'ready';
    if (!next) return;
    this.saved = next;
    this.draft = toDraft(next);
    this.applied = changesBetween(before, next);
  }
}
