/**
 * Regenerates the README's configuration, rate-limit and error tables from the code's constants
 * (`npm run docs`). tests/unit/docs.test.ts fails when the README drifts from them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_TABLE } from '../server/config.ts';
import { RATE_LIMITS, rateLimitTable } from '../server/http/rate-limits.ts';
import { ERRORS } from '../server/domain/errors.ts';

export function configTable(): string {
  return ['| variable | default | meaning |', '|---|---|---|', ...CONFIG_TABLE.map((e) => `| \`${e.env}\` | ${e.default} | ${e.description} |`)].join('\n');
}

export function errorTable(): string {
  return ['| code | HTTP | WebSocket close | meaning |', '|---|---|---|---|', ...Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.close} | ${e.message} |`)].join('\n');
}

export const SECTIONS: Record<string, () => string> = {
  config: configTable,
  'rate-limits': () => rateLimitTable(RATE_LIMITS),
  errors: errorTable,
};

export function render(readme: string): string {
  let out = readme;
  for (const [name, make] of Object.entries(SECTIONS)) {
    const re = new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    out = out.replace(re, `$1\n${make()}\n$2`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = path.resolve(import.meta.dirname, '..', 'README.md');
  fs.writeFileSync(file, render(fs.readFileSync(file, 'utf8')));
  console.log('README.md tables regenerated');
}
