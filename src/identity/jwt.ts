import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';

import { ConfigError, GatewayError } from '../errors.js';
import { JwtCache, MAX_JWT_CACHE_MS } from './jwt-cache.js';
import type { JwtConfig } from './schema.js';

/** Environment variables as a plain record, so tests can pass their own instead of process.env. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Verifies bearer JWTs and remembers the verified ones until they expire. */
export type JwtVerifier = {
  /** Claims of a token verified earlier and still valid at `nowMs`; the synchronous fast path. */
  cached(token: string, nowMs: number): JWTPayload | undefined;
  /** Verifies `token` at `nowMs`; rejects with `GatewayError('invalid_token')` when it fails. */
  verify(token: string, nowMs: number): Promise<JWTPayload>;
};

/** What {@link createJwtVerifier} needs besides the config section. */
export type JwtVerifierDeps = {
  env: Env;
  /** A JWKS (or key getter) to use instead of reading `jwks_file` / fetching `jwks_url`. */
  jwks?: JSONWebKeySet | JWTVerifyGetKey;
  /** Directory `jwks_file` is relative to. @default process.cwd() */
  baseDir?: string;
  /** Verified tokens kept in the LRU. @default 10000 */
  cacheSize?: number;
};

const ASYMMETRIC_ALGS = [
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  ...['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'],
];

// A slow identity provider must not hold requests for long; jose's default is 5 s as well.
const JWKS_FETCH_TIMEOUT_MS = 5_000;

/** Reads and checks a JWKS file; called once at start, never on the request path. */
export function loadJwksFile(file: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    const message = `cannot read a JWKS from ${file}: ${(cause as Error).message}`;
    throw new ConfigError('identity', [{ path: 'identity.jwt.jwks_file', message }]);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    const message = `${file} is not a JWKS: it needs a non-empty "keys" array`;
    throw new ConfigError('identity', [{ path: 'identity.jwt.jwks_file', message }]);
  }
  return parsed as JSONWebKeySet;
}

/** Builds the verifier for `identity.jwt`: HS256 with the shared secret, others from the JWKS. */
export function createJwtVerifier(config: JwtConfig, deps: JwtVerifierDeps): JwtVerifier {
  const secret = readSecret(config, deps.env);
  const jwks = jwksGetter(config, deps);
  const toleranceMs = config.clock_tolerance * 1000;
  const cache = new JwtCache(deps.cacheSize);

  // Each algorithm family is tied to its own key source, so an HS256 token can never be
  // checked against a public key taken as an HMAC secret (the classic key-confusion forgery).
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === 'HS256' && secret) return secret;
    if (header.alg !== 'HS256' && jwks) return jwks(header, token);
    throw new GatewayError('invalid_token', `invalid JWT: algorithm ${header.alg} is not accepted`);
  };
  const algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? ASYMMETRIC_ALGS : [])];
  const baseOptions: JWTVerifyOptions = {
    algorithms,
    clockTolerance: config.clock_tolerance,
    ...(config.require_exp === false ? {} : { requiredClaims: ['exp'] }),
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  };

  return {
    cached: (token, nowMs) => cache.get(token, nowMs),
    async verify(token, nowMs) {
      const hit = cache.get(token, nowMs);
      if (hit) return hit;

      let claims: JWTPayload;
      try {
        const options = { ...baseOptions, currentDate: new Date(nowMs) };
        ({ payload: claims } = await jwtVerify(token, getKey, options));
      } catch (cause) {
        if (cause instanceof GatewayError) throw cause;
        throw new GatewayError('invalid_token', `invalid JWT: ${describe(cause)}`, { cause });
      }

      // Trusted until jose itself would call it expired, and never beyond the cache's cap.
      const latest = nowMs + MAX_JWT_CACHE_MS;
      const expiresMs = claims.exp === undefined ? latest : claims.exp * 1000 + toleranceMs;
      const untilMs = Math.min(latest, expiresMs);
      cache.set(token, claims, untilMs);
      return claims;
    },
  };
}

function readSecret(config: JwtConfig, env: Env): Uint8Array | undefined {
  const name = config.hs256_secret_env;
  if (name === undefined) return undefined;
  const value = env[name];
  if (!value) {
    const message = `environment variable ${name} is not set`;
    throw new ConfigError('identity', [{ path: 'identity.jwt.hs256_secret_env', message }]);
  }
  return new TextEncoder().encode(value);
}

function jwksGetter(config: JwtConfig, deps: JwtVerifierDeps): JWTVerifyGetKey | undefined {
  if (typeof deps.jwks === 'function') return deps.jwks;
  if (deps.jwks) return createLocalJWKSet(deps.jwks);
  if (config.jwks_file) {
    return createLocalJWKSet(loadJwksFile(resolve(deps.baseDir ?? '.', config.jwks_file)));
  }
  if (config.jwks_url) {
    return createRemoteJWKSet(new URL(config.jwks_url), { timeoutDuration: JWKS_FETCH_TIMEOUT_MS });
  }
  return undefined;
}

// Messages name what failed, never the token or its claims, since they reach the client.
function describe(error: unknown): string {
  const { code, claim, reason } = (error ?? {}) as {
    code?: string;
    claim?: string;
    reason?: string;
  };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return 'the token issuer is not accepted';
      if (claim === 'aud') return 'the token audience is not accepted';
      if (claim === 'nbf') return 'the token is not valid yet';
      if (claim === 'exp' && reason === 'missing') {
        return 'the token has no expiry (exp claim), and identity.jwt.require_exp is on';
      }
      return `the token "${claim ?? 'unknown'}" claim is not valid`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'the token signing algorithm is not accepted';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature does not verify';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'no single key in the JWKS matches the token';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return 'the JWKS to verify the token could not be fetched';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'the token is malformed';
    default:
      return 'the token could not be verified';
  }
}
