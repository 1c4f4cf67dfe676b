/** The active string table. Korean comes later: pick the table by the user's locale here. */
import { en, type Strings } from './en.ts';

export const t: Strings = en;

/** Human text for a server error code; the code itself stays visible next to it. */
export function errorText(code: string, fallback?: string): string {
  return t.errors[code] ?? fallback ?? code;
}
