/**
 * What the client checks before it spends a byte of upload: the file's size and extension against
 * the server's published limits (`GET /api/config` → `uploads`). The server stays the judge (it
 * sniffs the content too); this only saves a doomed upload and says why at once. Nothing here is a
 * default: without the server's config the check passes and the server decides.
 */
import type { PublicConfig, UploadConfig } from '$lib/api/types.ts';
import { extensionOf } from '$lib/files/format.ts';

export type PrecheckError =
  | { code: 'file-too-large'; limit: number }
  | { code: 'file-type-not-allowed'; allowed: string[] }
  | { code: 'uploads-disabled' };

/** The upload part of the config, or null when the config is unknown (not fetched on this device). */
export function uploadConfig(config: PublicConfig | null): UploadConfig | null {
  return config?.uploads ?? null;
}

/** False when the server says files are off (or is too old to have uploads); true when unknown. */
export function uploadsEnabled(config: PublicConfig | null): boolean {
  return !config || config.uploads?.enabled === true;
}

export function precheck(file: { name: string; size: number }, config: PublicConfig | null): PrecheckError | null {
  if (!config) return null;
  if (!uploadsEnabled(config)) return { code: 'uploads-disabled' };
  const u = config.uploads!;
  const allowed = Object.keys(u.types);
  if (!Object.hasOwn(u.types, extensionOf(file.name))) return { code: 'file-type-not-allowed', allowed };
  if (file.size > u.maxBytes) return { code: 'file-too-large', limit: u.maxBytes };
  return null;
}
