/**
 * Settings an admin changes at runtime, stored in SQLite over the environment's defaults, applied
 * at once (the services read them through this object) and published by `GET /api/config`.
 */
import type { Config } from '../config.ts';
import type { AuditRepo } from '../repos/audit.ts';
import type { Clock } from './deps.ts';
import { fail } from './errors.ts';
import { FILE_TYPES } from '../files/types.ts';

export type Registration = 'open' | 'invite-only' | 'closed';

export interface Settings {
  registration: Registration;
  retentionDays: number;
  uploadMaxBytes: number;
  uploadTypes: string[];
  avScan: boolean;
}

export class SettingsService {
  private current: Settings;
  private listeners: ((s: Settings, changed: (keyof Settings)[]) => void)[] = [];

  constructor(private d: { audit: AuditRepo; clock: Clock; config: Config }) {
    const c = d.config;
    const defaults: Settings = {
      registration: c.registration, retentionDays: c.retentionDays, uploadMaxBytes: c.uploadMaxBytes,
      uploadTypes: c.uploadTypes, avScan: c.avScan === 'clamav',
    };
    const stored = d.audit.settings() as Partial<Settings>;
    this.current = { ...defaults, ...stored };
  }

  get(): Settings {
    return this.current;
  }

  /** Told of every change (and once now), to apply it. */
  onChange(fn: (s: Settings, changed: (keyof Settings)[]) => void): void {
    this.listeners.push(fn);
    fn(this.current, []);
  }

  /** Validates and stores a change (inside the caller's transaction); `applied` makes it current. */
  updateInTx(patch: Partial<Settings>, avAvailable: boolean): { next: Settings; changed: (keyof Settings)[] } {
    const next = { ...this.current };
    if (patch.registration !== undefined) {
      if (!['open', 'invite-only', 'closed'].includes(patch.registration)) fail('validation-failed', 'registration: open, invite-only or closed');
      next.registration = patch.registration;
    }
    if (patch.retentionDays !== undefined) {
      if (!Number.isInteger(patch.retentionDays) || patch.retentionDays < 0 || patch.retentionDays > 36_500) fail('validation-failed', 'retentionDays: 0 (keep) or a number of days');
      next.retentionDays = patch.retentionDays;
    }
    if (patch.uploadMaxBytes !== undefined) {
      if (!Number.isSafeInteger(patch.uploadMaxBytes) || patch.uploadMaxBytes < 1024 || patch.uploadMaxBytes > 10 * 1024 ** 3) fail('validation-failed', 'uploadMaxBytes: 1 KiB to 10 GiB');
      next.uploadMaxBytes = patch.uploadMaxBytes;
    }
    if (patch.uploadTypes !== undefined) {
      const types = [...new Set(patch.uploadTypes.map((t) => String(t).toLowerCase().replace(/^\./, '')))];
      const unknown = types.filter((t) => !FILE_TYPES[t]);
      if (unknown.length) fail('validation-failed', `uploadTypes: unknown ${unknown.join(', ')}`);
      next.uploadTypes = types;
    }
    if (patch.avScan !== undefined) {
      if (patch.avScan && !avAvailable) fail('validation-failed', 'avScan: no ClamAV daemon is configured (AV_SCAN, CLAMD_SOCKET or CLAMD_HOST)');
      next.avScan = patch.avScan;
    }
    const changed = (Object.keys(next) as (keyof Settings)[]).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(this.current[k]));
    const now = this.d.clock.now();
    for (const k of changed) this.d.audit.putSetting(k, next[k], now);
    return { next, changed };
  }

  /** After the transaction committed: current, and applied by every listener. */
  applied(next: Settings, changed: (keyof Settings)[]): void {
    if (!changed.length) return;
    this.current = next;
    for (const fn of this.listeners) fn(this.current, changed);
  }
}
