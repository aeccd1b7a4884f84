import { describe, expect, it } from 'vitest';

import { attributionSchema, identitySchema } from './schema.js';
import { parseSource } from './sources.js';

function issues(result: { success: boolean; error?: { issues: unknown[] } }) {
  return (result.error?.issues ?? []).map((issue) => {
    const { path, message } = issue as { path: (string | number)[]; message: string };
    return `${path.join('.')}: ${message}`;
  });
}

describe('attribution sources: parsing at load', () => {
  it('parses every source kind into a typed object', () => {
    expect(parseSource('jwt:claims.org.id')).toEqual({
      kind: 'jwt',
      text: 'jwt:claims.org.id',
      claim: 'claims.org.id',
      path: ['claims', 'org', 'id'],
    });
    expect(parseSource('header:X-Org-Id')).toEqual({
      kind: 'header',
      text: 'header:X-Org-Id',
      name: 'x-org-id',
    });
    expect(parseSource('query:org')).toEqual({ kind: 'query', text: 'query:org', name: 'org' });
    expect(parseSource('path')).toEqual({ kind: 'path', text: 'path' });
    expect(parseSource('key:team')).toEqual({ kind: 'key', text: 'key:team', field: 'team' });
    expect(parseSource('key:id')).toEqual({ kind: 'key', text: 'key:id', field: 'id' });
    expect(parseSource('key:tag.app')).toEqual({
      kind: 'key-tag',
      text: 'key:tag.app',
      tag: 'app',
    });
    expect(parseSource('unattributed')).toEqual({
      kind: 'literal',
      text: 'unattributed',
      value: 'unattributed',
    });
  });

  it('refuses a misspelt prefix instead of taking it as a literal', () => {
    expect(parseSource('heder:x-org-id')).toEqual({
      error:
        'unknown source prefix "heder:" in "heder:x-org-id" (expected jwt:<claim>, ' +
        'header:<name>, query:<name>, key:<field>, path, or a literal)',
    });
  });

  it('refuses empty names, bad claim paths, unknown key fields and arguments to path', () => {
    expect(parseSource('jwt:')).toEqual({ error: '"jwt:" needs a name after the colon' });
    expect(parseSource('jwt:a..b')).toEqual({ error: '"a..b" is not a valid claim path' });
    expect(parseSource('header:x org')).toEqual({ error: '"x org" is not a valid header name' });
    expect(parseSource('key:email')).toEqual({
      error: 'unknown key field "email" (expected org, team, user, id or tag.<name>)',
    });
    expect(parseSource('path:/v1')).toEqual({ error: '"path" takes no argument, got "path:/v1"' });
  });
});

describe('attribution section: defaults and validation', () => {
  it('fills the documented defaults when the section is absent', () => {
    const parsed = attributionSchema.parse(undefined);

    expect(parsed.org.map((s) => s.text)).toEqual([
      'jwt:org_id',
      'key:org',
      'header:x-org-id',
      'unattributed',
    ]);
    expect(parsed.team.map((s) => s.text)).toEqual([
      'jwt:team_id',
      'key:team',
      'header:x-team-id',
      'unattributed',
    ]);
    expect(parsed.user.map((s) => s.text)).toEqual([
      'jwt:sub',
      'key:user',
      'header:x-user-id',
      'unattributed',
    ]);
    expect(parsed.endpoint.map((s) => s.text)).toEqual(['header:x-endpoint', 'path']);
    expect(parsed.tags).toEqual({});
    expect(parsed.require).toEqual([]);
  });

  it('keeps the defaults of dimensions a partial section leaves out', () => {
    const parsed = attributionSchema.parse({ org: ['header:x-tenant'] });

    expect(parsed.org.map((s) => s.text)).toEqual(['header:x-tenant']);
    expect(parsed.user.map((s) => s.text)).toEqual([
      'jwt:sub',
      'key:user',
      'header:x-user-id',
      'unattributed',
    ]);
  });

  it('reports a bad source with its path in the file', () => {
    const result = attributionSchema.safeParse({ tags: { app: ['header:x-app', 'qery:app'] } });

    expect(issues(result)).toEqual([
      'tags.app.1: unknown source prefix "qery:" in "qery:app" (expected jwt:<claim>, ' +
        'header:<name>, query:<name>, key:<field>, path, or a literal)',
    ]);
  });

  it('refuses unknown keys, unknown required dimensions and literal-only requirements', () => {
    expect(issues(attributionSchema.safeParse({ orgs: [] }))).toEqual([
      ': Unrecognized key: "orgs"',
    ]);
    const result = attributionSchema.safeParse({
      team: ['platform'],
      tags: { app: ['header:x-app'] },
      require: ['tenant', 'tag:env', 'team', 'tag:app'],
    });

    expect(issues(result)).toEqual([
      'require.0: "tenant" is not a dimension (expected org, team, user, endpoint or tag:<name>)',
      'require.1: tag:env has no sources under attribution.tags',
      'require.2: team is required but has no source that reads the request',
    ]);
  });
});

describe('identity section: validation', () => {
  it('accepts the documented example and turns clock_tolerance into seconds', () => {
    const parsed = identitySchema.parse({
      require_credential: true,
      jwt: { hs256_secret_env: 'JWT_SECRET', jwks_file: './jwks.json', clock_tolerance: '1m' },
      api_keys: { file: './keys.yaml' },
    });

    expect(parsed.jwt?.clock_tolerance).toBe(60);
    expect(parsed.api_keys?.file).toBe('./keys.yaml');
    expect(identitySchema.parse(undefined)).toEqual({});
  });

  it('refuses a secret written in place of an environment variable name', () => {
    const result = identitySchema.safeParse({ jwt: { hs256_secret_env: 'hunter2 secret!' } });

    expect(issues(result)).toEqual([
      'jwt.hs256_secret_env: must name an environment variable, not hold a secret',
    ]);
  });

  it('refuses a jwt section with no way to verify tokens', () => {
    expect(issues(identitySchema.safeParse({ jwt: { issuer: 'x' } }))).toEqual([
      'jwt: needs at least one of hs256_secret_env, jwks_file or jwks_url',
    ]);
  });
});
