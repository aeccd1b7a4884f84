import { describe, expect, it } from 'vitest';
import { parseIsoTime } from './http.js';

describe('admin api times', () => {
  it('reads a time without a zone as UTC', () => {
    expect(parseIsoTime('2026-12-01T10:00')).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(parseIsoTime('2026-12-01')).toBe(Date.parse('2026-12-01T00:00:00Z'));
  });

  it('honours an explicit offset', () => {
    expect(parseIsoTime('2026-12-01T10:00:00+01:00')).toBe(Date.parse('2026-12-01T09:00:00Z'));
  });

  it('refuses impossible dates and other text', () => {
    expect(parseIsoTime('2026-02-30')).toBeNaN();
    // Shaped like a time, but no time at all: refused, not thrown.
    expect(parseIsoTime('2026-13-45')).toBeNaN();
    expect(parseIsoTime('2026-02-28T25:00:00Z')).toBeNaN();
    expect(parseIsoTime('yesterday')).toBeNaN();
    expect(parseIsoTime(null)).toBeUndefined();
  });
});
