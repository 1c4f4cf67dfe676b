import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { render, SECTIONS } from '../../scripts/gen-docs.ts';

describe('README', () => {
  it('shows the configuration, rate-limit and error tables exactly as the code defines them', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    for (const name of Object.keys(SECTIONS)) expect(readme).toContain(`<!-- generated:${name} -->`);
    expect(render(readme)).toBe(readme); // run `npm run docs` after changing a constant
  });
});
