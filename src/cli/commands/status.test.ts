import { describe, expect, it } from 'vitest';
import { runsOut, usedPercent } from './status.js';

describe('spendgate status: budget columns', () => {
  it('never rounds a budget up to used in full', () => {
    expect([0.99987, 0.8333, 1, 1.25, 0].map(usedPercent)).toEqual([
      '99.9%',
      '83.3%',
      '100.0%',
      '125.0%',
      '0.0%',
    ]);
  });

  it('says reached for a moment already past, and - when there is no projection', () => {
    const now = Date.parse('2026-12-05T12:00:00Z');

    expect(runsOut('2026-12-05T11:59:59.000Z', now)).toBe('reached');
    expect(runsOut('2026-12-05T12:00:00.000Z', now)).toBe('reached');
    expect(runsOut('2026-12-05T18:00:00.000Z', now)).toBe('2026-12-05T18:00:00.000Z');
    expect(runsOut(null, now)).toBe('-');
  });
});
