import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';

import { fakeClock } from '../clock.js';
import { GatewayError } from '../errors.js';
import {
  createIdentityResolver,
  credentialHeaders,
  type Identity,
  type IdentityRequest,
} from './attribution.js';
import { KeyStore } from './key-store.js';
import { createKey, revokeKey } from './keys.js';
import { attributionSchema, identitySchema } from './schema.js';

const SECRET = 'attribution-test-secret-0123456789abcdef';
const NOW_MS = Date.parse('2026-01-01T00:00:00Z');
const env = { JWT_SECRET: SECRET };
const identityWithJwt = identitySchema.parse({ jwt: { hs256_secret_env: 'JWT_SECRET' } });

function jwt(claims: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT({ exp: NOW_MS / 1000 + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));
}

function request(headers: IdentityRequest['headers'] = {}, url = '/v1/chat/completions') {
  const [path = '', query = ''] = url.split('?');
  return { headers, query: new URLSearchParams(query), path };
}

function resolver(attribution: unknown = undefined, options: { requireCredential?: boolean } = {}) {
  const clock = fakeClock(NOW_MS);
  const dir = mkdtempSync(join(tmpdir(), 'sg-attr-'));
  const file = join(dir, 'keys.yaml');
  const made = createKey(file, { org: 'key-org', user: 'key-user', tags: { app: 'key-app' } });
  const keyStore = new KeyStore(file, NOW_MS);
  const resolve = createIdentityResolver(
    {
      identity: identityWithJwt,
      attribution: attributionSchema.parse(attribution),
      requireCredential: options.requireCredential ?? false,
    },
    { env, keyStore, clock },
  );
  const run = (req: IdentityRequest) => Promise.resolve(resolve.resolve(req));
  return { resolve: run, made, file, clock };
}

async function failure(run: () => Promise<Identity>): Promise<GatewayError> {
  const error = await run().then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(error instanceof GatewayError)) throw error;
  return error;
}

describe('attribution: defaults', () => {
  it('falls back to unattributed and the request path when nothing is given', async () => {
    const identity = await resolver().resolve(request({}, '/v1/chat/completions?x=1'));

    expect(identity).toEqual({
      org: 'unattributed',
      team: 'unattributed',
      user: 'unattributed',
      endpoint: '/v1/chat/completions',
      key: null,
      tags: {},
      credential: null,
      credentialHeaders: [],
    });
  });

  it('reads the default headers when no credential is carried', async () => {
    const headers = { 'x-org-id': 'acme', 'x-team-id': 'search', 'x-user-id': 'ana' };

    const identity = await resolver().resolve(request({ ...headers, 'x-endpoint': 'rag' }));

    expect([identity.org, identity.team, identity.user, identity.endpoint]).toEqual([
      'acme',
      'search',
      'ana',
      'rag',
    ]);
  });
});

describe('attribution: first present source wins', () => {
  it('prefers a verified jwt claim over the key record and the header', async () => {
    const { resolve, made } = resolver();
    const token = await jwt({ org_id: 'jwt-org', sub: 'jwt-user' });

    const identity = await resolve(
      request({ authorization: `Bearer ${token}`, 'x-api-key': made.key, 'x-org-id': 'hdr' }),
    );

    expect(identity.org).toBe('jwt-org');
    expect(identity.user).toBe('jwt-user');
    expect(identity.key).toBe(made.id);
    expect(identity.credential).toBe('jwt');
    expect(credentialHeaders(identity)).toEqual(['authorization', 'x-api-key']);
  });

  it('uses the key record when the jwt lacks the claim, then the header', async () => {
    const { resolve, made } = resolver();

    const identity = await resolve(
      request({ 'api-key': made.key, 'x-team-id': 'hdr-team', 'x-org-id': 'hdr-org' }),
    );

    expect(identity.org).toBe('key-org');
    expect(identity.team).toBe('hdr-team');
    expect(identity.user).toBe('key-user');
    expect(identity.credential).toBe('key');
    expect(credentialHeaders(identity)).toEqual(['api-key']);
  });

  it('reads every source kind', async () => {
    const { resolve, made } = resolver({
      org: ['jwt:tenant.id'],
      team: ['query:team'],
      user: ['key:id'],
      endpoint: ['header:x-endpoint', 'path'],
      tags: {
        app: ['key:tag.app'],
        env: ['header:x-env', 'prod'],
        region: ['jwt:https://id.example/region'],
      },
    });
    const token = await jwt({ tenant: { id: 'nested-org' }, 'https://id.example/region': 'eu' });

    const identity = await resolve(
      request({ authorization: `bearer ${token}`, 'x-api-key': made.key }, '/v1/embed?team=ml'),
    );

    expect(identity.org).toBe('nested-org');
    expect(identity.team).toBe('ml');
    expect(identity.user).toBe(made.id);
    expect(identity.endpoint).toBe('/v1/embed');
    expect(identity.tags).toEqual({ app: 'key-app', env: 'prod', region: 'eu' });
  });

  it('trims, skips empty values, caps length and takes the first repeated header', async () => {
    const { resolve } = resolver({ org: ['header:x-a', 'header:x-b'], team: ['header:x-t'] });

    const identity = await resolve(
      request({ 'x-a': '   ', 'x-b': ['  first ', 'second'], 'x-t': 'y'.repeat(300) }),
    );

    expect(identity.org).toBe('first');
    expect(identity.team).toBe('y'.repeat(200));
  });

  it('turns numeric claims into strings and ignores object claims', async () => {
    const { resolve } = resolver({ org: ['jwt:org_id', 'fallback'], team: ['jwt:team'] });
    const token = await jwt({ org_id: { nested: true }, team: 42 });

    const identity = await resolve(request({ authorization: `Bearer ${token}` }));

    expect(identity.org).toBe('fallback');
    expect(identity.team).toBe('42');
  });
});

describe('attribution: credentials', () => {
  it('refuses a forged jwt and never lets the header set org instead', async () => {
    const { resolve } = resolver();
    const forged = await jwt({ org_id: 'victim' }, 'attacker-secret-0123456789abcdefghij');

    const error = await failure(() =>
      resolve(request({ authorization: `Bearer ${forged}`, 'x-org-id': 'victim' })),
    );

    expect(error.code).toBe('invalid_token');
    expect(error.httpStatus).toBe(401);
    expect(error.message).toBe('invalid JWT: the token signature does not verify');
  });

  it('refuses an expired jwt', async () => {
    const { resolve } = resolver();
    const expired = await jwt({ org_id: 'acme', exp: NOW_MS / 1000 - 3600 });

    const error = await failure(() => resolve(request({ authorization: `Bearer ${expired}` })));

    expect(error.message).toBe('invalid JWT: the token has expired');
  });

  it('refuses an unknown or revoked virtual key', async () => {
    const { resolve, made, file, clock } = resolver();
    revokeKey(file, made.id, NOW_MS);
    clock.advance(1000);

    const unknown = await failure(() => resolve(request({ 'x-api-key': 'sg-nope' })));
    const revoked = await failure(() => resolve(request({ 'x-api-key': made.key })));

    expect(unknown.code).toBe('invalid_token');
    expect(unknown.message).toBe('unknown or revoked Spendgate API key');
    expect(revoked.message).toBe('unknown or revoked Spendgate API key');
  });

  it('asks for a credential when the gateway requires one', async () => {
    const { resolve } = resolver(undefined, { requireCredential: true });

    const error = await failure(() =>
      resolve(request({ 'x-org-id': 'acme', authorization: 'Bearer sk-provider-key' })),
    );

    expect(error.code).toBe('invalid_token');
    expect(error.message).toBe('this gateway needs a Spendgate API key or a signed JWT');
  });

  it('leaves the client own provider key alone when no credential is required', async () => {
    const identity = await resolver().resolve(request({ authorization: 'Bearer sk-abc' }));

    expect(identity.credential).toBeNull();
    expect(credentialHeaders(identity)).toEqual([]);
  });

  it('refuses two different virtual keys on one request', async () => {
    const { resolve, made } = resolver();

    const error = await failure(() =>
      resolve(request({ authorization: `Bearer ${made.key}`, 'x-api-key': 'sg-other' })),
    );

    expect(error.message).toBe('the request carries two different Spendgate API keys');
  });

  it('answers a cached jwt synchronously', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-attr-'));
    const sync = createIdentityResolver(
      { identity: identityWithJwt, attribution: undefined, requireCredential: true },
      { env, keyStore: new KeyStore(join(dir, 'k.yaml'), NOW_MS), clock: fakeClock(NOW_MS) },
    );
    const req = request({ authorization: `Bearer ${await jwt({ org_id: 'acme' })}` });

    const first = sync.resolve(req);
    await first;
    const second = sync.resolve(req);

    expect(first).toBeInstanceOf(Promise);
    expect(second).not.toBeInstanceOf(Promise);
    expect((second as Identity).org).toBe('acme');
  });
});

describe('attribution: required dimensions', () => {
  it('answers 400 naming the dimension and the sources tried', async () => {
    const { resolve } = resolver({ require: ['org'] });

    const error = await failure(() => resolve(request({ 'x-team-id': 'search' })));

    expect(error.code).toBe('missing_identity');
    expect(error.httpStatus).toBe(400);
    expect(error.message).toBe(
      'this request needs the identity dimension "org"; none of its sources is present ' +
        '(jwt:org_id, key:org, header:x-org-id)',
    );
  });

  it('passes when a required tag is present and refuses when it is not', async () => {
    const { resolve } = resolver({ tags: { app: ['header:x-app'] }, require: ['tag:app'] });

    const ok = await resolve(request({ 'x-app': 'billing' }));
    const error = await failure(() => resolve(request({})));

    expect(ok.tags).toEqual({ app: 'billing' });
    expect(error.message).toBe(
      'this request needs the identity dimension "tag:app"; none of its sources is present ' +
        '(header:x-app)',
    );
  });
});

describe('attribution: keys file from the identity section', () => {
  it('opens identity.api_keys.file under baseDir when no key store is passed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-attr-'));
    const { key } = createKey(join(dir, 'keys.yaml'), { org: 'from-file' }, NOW_MS);
    const resolve = createIdentityResolver(
      {
        identity: identitySchema.parse({ api_keys: { file: 'keys.yaml' } }),
        attribution: undefined,
        requireCredential: true,
      },
      { env: {}, baseDir: dir, clock: fakeClock(NOW_MS) },
    );

    const identity = await resolve.resolve(request({ 'x-api-key': key }));

    expect(identity.org).toBe('from-file');
    expect(identity.credential).toBe('key');
  });
});
