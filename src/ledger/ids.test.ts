import { describe, expect, it } from 'vitest';
import { timeOrderedId } from './ids.js';

describe('timeOrderedId', () => {
  it('is a version 7 UUID with the RFC variant', () => {
    const id = timeOrderedId(Date.parse('2026-12-04T19:00:00.000Z'));

    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('starts with the time in milliseconds, so later ids sort later', () => {
    const ms = Date.parse('2026-12-04T19:00:00.000Z');

    expect(timeOrderedId(ms).replace(/-/g, '').slice(0, 12)).toBe(
      ms.toString(16).padStart(12, '0'),
    );
    expect(timeOrderedId(ms + 1) > timeOrderedId(ms)).toBe(true);
  });

  it('differs between two ids of the same millisecond', () => {
    const ms = Date.parse('2026-12-04T19:00:00.000Z');

    expect(timeOrderedId(ms)).not.toBe(timeOrderedId(ms));
  });
});
