import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REASONS } from './errors.js';

describe('reason codes', () => {
  it('are each documented in docs/errors.md with their status', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

    for (const [code, status] of Object.entries(REASONS)) {
      expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| [^|]*${status}`));
    }
  });
});
