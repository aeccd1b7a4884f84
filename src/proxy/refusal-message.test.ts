import { describe, expect, it } from 'vitest';
import { usdToPico } from '../money/money.js';
import { refusalMessage } from './refusal-message.js';

const dims = { org: 'acme', team: 'search', user: 'ann', tags: { app: 'rag' } };
const budget = {
  kind: 'budget' as const,
  name: 'b',
  scopeKeys: ['org'],
  askedPico: usdToPico('0.5'),
  leftPico: usdToPico('0.25'),
  wholePico: usdToPico('10'),
  limitPico: usdToPico('10'),
  rejectAt: 100,
};

describe('refusal messages', () => {
  it('names only the scope dimensions, tags too, and none for a budget over all requests', () => {
    expect(refusalMessage({ ...budget, scopeKeys: ['team', 'tag:app'] }, dims)).toBe(
      'budget "b" for team "search", tag:app "rag": this request\'s worst case (0.5 USD) is ' +
        'more than the 0.25 USD left; set max_tokens lower, or retry when the period resets',
    );
    expect(refusalMessage({ ...budget, scopeKeys: [], leftPico: 0n }, dims)).toBe(
      'budget "b" exceeded: nothing left until the period resets',
    );
  });

  it('takes a reject stage below 100% as the whole limit, reaching it included', () => {
    const stage = { ...budget, wholePico: usdToPico('8'), rejectAt: 80, leftPico: usdToPico('8') };

    expect(
      refusalMessage({ ...stage, askedPico: usdToPico('8') }, dims, { input: 10, maxOutput: 90 }),
    ).toBe(
      'budget "b" for org "acme": this request\'s worst case (8 USD: 10 prompt tokens + up to ' +
        '90 output tokens) is more than the whole limit of 8 USD (its reject stage, 80% of ' +
        '10 USD), so it can never pass; set max_tokens lower',
    );
  });

  it('says a spent request limit is exceeded, and a kill switch without a reason plainly', () => {
    const rpm = {
      kind: 'rate_limit' as const,
      name: 'org-rpm',
      scopeKeys: ['org'],
      bucket: 'rpm' as const,
      asked: 1,
      capacity: 60,
    };
    const kill = {
      kind: 'kill_switch' as const,
      dimension: 'user',
      value: 'ann',
      reason: null,
      expiresAtMs: null,
    };

    expect(refusalMessage(rpm, dims)).toBe(
      'requests-per-minute limit "org-rpm" for org "acme" exceeded',
    );
    expect(refusalMessage(kill, dims)).toBe('blocked by a kill switch on user "ann"');
  });
});
