import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

import { ConfigError, GatewayError } from '../errors.js';
import { createJwtVerifier } from './jwt.js';
import { identitySchema, type JwtConfig } from './schema.js';

const SECRET = 'test-secret-that-is-long-enough-0123456789';
const NOW_S = 1_767_225_600; // 2026-01-01T00:00:00Z
const NOW_MS = NOW_S * 1000;

function jwtConfig(jwt: Record<string, unknown>): JwtConfig {
  const parsed = identitySchema.parse({ jwt }).jwt;
  if (!parsed) throw new Error('no jwt section');
  return parsed;
}

function hs256(claims: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));
}

const hsVerifier = () =>
  createJwtVerifier(
    jwtConfig({ hs256_secret_env: 'JWT_SECRET', issuer: 'https://id.example', audience: 'llm' }),
    { env: { JWT_SECRET: SECRET } },
  );

const good = { iss: 'https://id.example', aud: 'llm', sub: 'u1', exp: NOW_S + 600 };

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(error instanceof GatewayError)) throw error;
  return error;
}

function unsigned(claims: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

describe('jwt verification: HS256', () => {
  it('accepts a token signed with the secret and returns its claims', async () => {
    const claims = await hsVerifier().verify(await hs256({ ...good, org_id: 'acme' }), NOW_MS);

    expect(claims.org_id).toBe('acme');
    expect(claims.sub).toBe('u1');
  });

  it('refuses a token signed with another secret', async () => {
    const token = await hs256(good, 'some-other-secret-of-enough-length-000');

    const error = await failure(hsVerifier().verify(token, NOW_MS));

    expect(error.code).toBe('invalid_token');
    expect(error.httpStatus).toBe(401);
    expect(error.message).toBe('invalid JWT: the token signature does not verify');
  });

  it('refuses an unsigned alg none token', async () => {
    const error = await failure(hsVerifier().verify(unsigned(good), NOW_MS));

    expect(error.code).toBe('invalid_token');
    expect(error.message).toBe('invalid JWT: the token signing algorithm is not accepted');
  });

  it('refuses an expired token beyond the clock tolerance', async () => {
    const token = await hs256({ ...good, exp: NOW_S - 31 });

    const error = await failure(hsVerifier().verify(token, NOW_MS));

    expect(error.message).toBe('invalid JWT: the token has expired');
  });

  it('refuses a token without exp, which would never expire, unless require_exp is off', async () => {
    const { exp: _never, ...forever } = good;
    const token = await hs256(forever);
    const lenient = createJwtVerifier(
      jwtConfig({ hs256_secret_env: 'JWT_SECRET', audience: 'llm', require_exp: false }),
      { env: { JWT_SECRET: SECRET } },
    );

    const error = await failure(hsVerifier().verify(token, NOW_MS));

    expect([error.code, error.httpStatus, error.message]).toEqual([
      'invalid_token',
      401,
      'invalid JWT: the token has no expiry (exp claim), and identity.jwt.require_exp is on',
    ]);
    await expect(lenient.verify(token, NOW_MS)).resolves.toMatchObject({ sub: 'u1' });
  });

  it('accepts a token expired by less than the clock tolerance', async () => {
    const token = await hs256({ ...good, exp: NOW_S - 10 });

    await expect(hsVerifier().verify(token, NOW_MS)).resolves.toMatchObject({ sub: 'u1' });
  });

  it('refuses a token that is not valid yet', async () => {
    const token = await hs256({ ...good, nbf: NOW_S + 120 });

    const error = await failure(hsVerifier().verify(token, NOW_MS));

    expect(error.message).toBe('invalid JWT: the token is not valid yet');
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    const verifier = hsVerifier();

    const issuer = await failure(verifier.verify(await hs256({ ...good, iss: 'x' }), NOW_MS));
    const audience = await failure(verifier.verify(await hs256({ ...good, aud: 'x' }), NOW_MS));

    expect(issuer.message).toBe('invalid JWT: the token issuer is not accepted');
    expect(audience.message).toBe('invalid JWT: the token audience is not accepted');
  });

  it('refuses garbage that merely looks like a token', async () => {
    const error = await failure(hsVerifier().verify('abc.def.ghi', NOW_MS));

    expect(error.code).toBe('invalid_token');
  });

  it('fails at start when the secret variable is not set', () => {
    const config = jwtConfig({ hs256_secret_env: 'JWT_SECRET' });

    expect(() => createJwtVerifier(config, { env: {} })).toThrow(ConfigError);
    expect(() => createJwtVerifier(config, { env: {} })).toThrow(
      'identity.jwt.hs256_secret_env: environment variable JWT_SECRET is not set',
    );
  });
});

describe('jwt verification: RS256 from a JWKS file', () => {
  async function setup() {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const dir = mkdtempSync(join(tmpdir(), 'sg-jwks-'));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    const verifier = createJwtVerifier(jwtConfig({ jwks_file: 'jwks.json', audience: 'llm' }), {
      env: {},
      baseDir: dir,
    });
    const sign = (claims: JWTPayload, kid = 'k1') =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
    return { verifier, sign, jwk };
  }

  it('accepts a token signed with the private key of a JWKS entry', async () => {
    const { verifier, sign } = await setup();

    const claims = await verifier.verify(await sign({ ...good, org_id: 'acme' }), NOW_MS);

    expect(claims.org_id).toBe('acme');
  });

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const { verifier } = await setup();
    const other = await generateKeyPair('RS256');
    const token = await new SignJWT(good)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(other.privateKey);

    const error = await failure(verifier.verify(token, NOW_MS));

    expect(error.message).toBe('invalid JWT: the token signature does not verify');
  });

  it('refuses an HS256 token when only a JWKS is configured', async () => {
    const { verifier } = await setup();

    const error = await failure(verifier.verify(await hs256(good), NOW_MS));

    expect(error.message).toBe('invalid JWT: the token signing algorithm is not accepted');
  });

  it('fails at start when the JWKS file has no keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-jwks-'));
    writeFileSync(join(dir, 'jwks.json'), '{"keys": []}');
    const config = jwtConfig({ jwks_file: join(dir, 'jwks.json') });

    expect(() => createJwtVerifier(config, { env: {} })).toThrow(ConfigError);
  });
});

describe('jwt verification: cache of verified tokens', () => {
  it('serves a verified token from the cache without verifying again', async () => {
    const verifier = hsVerifier();
    const token = await hs256(good);

    expect(verifier.cached(token, NOW_MS)).toBeUndefined();
    await verifier.verify(token, NOW_MS);

    expect(verifier.cached(token, NOW_MS + 1000)).toMatchObject({ sub: 'u1' });
  });

  it('refuses a cached token once it has expired on the fake clock', async () => {
    const verifier = hsVerifier();
    const token = await hs256({ ...good, exp: NOW_S + 60 });
    await verifier.verify(token, NOW_MS);
    const later = NOW_MS + (60 + 30) * 1000;

    expect(verifier.cached(token, later - 1)).toMatchObject({ sub: 'u1' });
    expect(verifier.cached(token, later)).toBeUndefined();
    const error = await failure(verifier.verify(token, later));

    expect(error.message).toBe('invalid JWT: the token has expired');
  });

  it('evicts the least recently used token when full', async () => {
    const verifier = createJwtVerifier(jwtConfig({ hs256_secret_env: 'S' }), {
      env: { S: SECRET },
      cacheSize: 2,
    });
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((sub) => hs256({ sub, exp: NOW_S + 600 })),
    );
    if (!a || !b || !c) throw new Error('tokens not signed');

    await verifier.verify(a, NOW_MS);
    await verifier.verify(b, NOW_MS);
    verifier.cached(a, NOW_MS);
    await verifier.verify(c, NOW_MS);

    expect(verifier.cached(a, NOW_MS)?.sub).toBe('a');
    expect(verifier.cached(b, NOW_MS)).toBeUndefined();
    expect(verifier.cached(c, NOW_MS)?.sub).toBe('c');
  });
});

describe('jwt verification: ES256 from a JWKS url', () => {
  const servers: { close(): void }[] = [];
  afterAll(() => servers.forEach((server) => server.close()));

  async function serveJwks(body: string): Promise<{ url: string; hits: () => number }> {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, hits: () => hits };
  }

  it('fetches the keys from the url and verifies with them', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'e1', alg: 'ES256' };
    const { url, hits } = await serveJwks(JSON.stringify({ keys: [jwk] }));
    const verifier = createJwtVerifier(jwtConfig({ jwks_url: url }), { env: {} });
    const token = await new SignJWT({ ...good, org_id: 'acme' })
      .setProtectedHeader({ alg: 'ES256', kid: 'e1' })
      .sign(privateKey);

    const claims = await verifier.verify(token, NOW_MS);
    await verifier.verify(token, NOW_MS);

    expect(claims.org_id).toBe('acme');
    expect(hits()).toBe(1);
  });

  it('refuses the token when the url serves no usable keys', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const { url } = await serveJwks('not json');
    const verifier = createJwtVerifier(jwtConfig({ jwks_url: url }), { env: {} });
    const token = await new SignJWT(good)
      .setProtectedHeader({ alg: 'ES256', kid: 'e1' })
      .sign(privateKey);

    const error = await failure(verifier.verify(token, NOW_MS));

    expect(error.code).toBe('invalid_token');
    expect(error.httpStatus).toBe(401);
  });
});
