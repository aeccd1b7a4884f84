import { describe, expect, it } from 'vitest';
import { compileScope, isInstanceOf, KEY_SEPARATOR } from './scope.js';

describe('isInstanceOf', () => {
  it('takes the instances a scope makes and refuses those of another scope', () => {
    const anyOrg = compileScope({ org: '*' });
    const beta = compileScope({ org: 'beta' });
    const orgTeam = compileScope({ org: '*', team: '*' });
    const byTag = compileScope({ 'tag:app': '*' });

    expect(isInstanceOf(anyOrg, 'acme')).toBe(true);
    expect(isInstanceOf(beta, 'beta')).toBe(true);
    expect(isInstanceOf(beta, 'acme')).toBe(false);
    expect(isInstanceOf(orgTeam, `acme${KEY_SEPARATOR}search`)).toBe(true);
    expect(isInstanceOf(orgTeam, 'acme')).toBe(false);
    expect(isInstanceOf(anyOrg, `acme${KEY_SEPARATOR}search`)).toBe(false);
    expect(isInstanceOf(byTag, 'bench')).toBe(true);
    expect(isInstanceOf(compileScope({}), '')).toBe(true);
    expect(isInstanceOf(compileScope({}), 'acme')).toBe(false);
  });
});
