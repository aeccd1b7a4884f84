import { describe, expect, it } from 'vitest';
import { killSwitchRetryAfter, matchKillSwitch, type KillSwitch } from './kill-switch.js';

const acme: KillSwitch = {
  id: 'ks1',
  dimension: 'org',
  value: 'acme',
  expires_at: 10_000,
  created_by: 'finance',
};
const rag: KillSwitch = { id: 'ks2', dimension: 'tag:app', value: 'rag', created_by: 'finance' };

describe('kill switch: matching', () => {
  it('blocks the dimension value it names', () => {
    expect(matchKillSwitch([acme], { org: 'acme' }, 0)).toBe(acme);
    expect(matchKillSwitch([acme], { org: 'other' }, 0)).toBeNull();
  });

  it('matches tags', () => {
    expect(matchKillSwitch([rag], { org: 'x', tags: { app: 'rag' } }, 0)).toBe(rag);
  });

  it('ignores a switch once it has expired', () => {
    expect(matchKillSwitch([acme], { org: 'acme' }, 9_999)).toBe(acme);
    expect(matchKillSwitch([acme], { org: 'acme' }, 10_000)).toBeNull();
  });

  it('gives the seconds left until expiry as retry-after', () => {
    expect(killSwitchRetryAfter(acme, 8_500)).toBe(2);
    expect(killSwitchRetryAfter(rag, 0)).toBeNull();
  });
});
