import { resolve as resolvePath } from 'node:path';

import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';

import { systemClock, type Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import {
  findCredentials,
  firstHeader,
  type CredentialHeader,
  type FoundCredentials,
  type Headers,
} from './credentials.js';
import { createJwtVerifier, type Env, type JwtVerifier } from './jwt.js';
import { KeyStore } from './key-store.js';
import type { KeyRecord } from './keys.js';
import {
  attributionSchema,
  DIMENSIONS,
  identitySchema,
  type AttributionConfig,
  type IdentityConfig,
} from './schema.js';
import { MAX_VALUE_LENGTH, type Source } from './sources.js';

/** Who a request is for: the attribution dimensions and the credential that proved it. */
export type Identity = {
  org: string | null;
  team: string | null;
  user: string | null;
  endpoint: string | null;
  /** The virtual key's id (never the key), itself a dimension. */
  key: string | null;
  tags: Record<string, string>;
  /** The verified credential; a JWT wins when a request carries both kinds. */
  credential: 'jwt' | 'key' | null;
  /** Client headers that carried a Spendgate credential; strip them before forwarding. */
  credentialHeaders: readonly CredentialHeader[];
};

/** The parts of a request identity is read from; `path` is the part after `/<upstream>`. */
export type IdentityRequest = { headers: Headers; query: URLSearchParams; path: string };

const NO_QUERY = new URLSearchParams();

/**
 * The parameters of a request's `?…` part (`search`, '' when it has none). Requests without a
 * query share one empty instance, which the resolver only reads.
 */
export function queryOf(search: string): URLSearchParams {
  return search === '' ? NO_QUERY : new URLSearchParams(search);
}

/** Turns a request into its {@link Identity}. */
export type IdentityResolver = {
  /**
   * Resolves a request. Returns the identity itself when no JWT needs verifying (a cached one
   * does not), else a promise; bad input never throws but comes back as a rejected promise of
   * `GatewayError` (`invalid_token` 401, `missing_identity` 400), so `await` covers both.
   */
  resolve(req: IdentityRequest): Identity | Promise<Identity>;
};

/**
 * Configuration of {@link createIdentityResolver}; `requireCredential` is already defaulted.
 * An absent section means its defaults, as when the config file leaves it out.
 */
export type IdentityResolverConfig = {
  identity: IdentityConfig | undefined;
  attribution: AttributionConfig | undefined;
  requireCredential: boolean;
};

/** Collaborators of {@link createIdentityResolver}. */
export type IdentityResolverDeps = {
  env: Env;
  /** The virtual keys; built from `identity.api_keys.file` (under `baseDir`) when absent. */
  keyStore?: KeyStore;
  /** A JWKS or key getter used instead of `identity.jwt.jwks_file` / `jwks_url`. */
  jwks?: JSONWebKeySet | JWTVerifyGetKey;
  /** Directory relative `jwks_file` and keys file paths start from. @default process.cwd() */
  baseDir?: string;
  /** The clock for token expiry and key-file checks. @default systemClock */
  clock?: Clock;
};

type Context = {
  req: IdentityRequest;
  claims: JWTPayload | undefined;
  record: KeyRecord | undefined;
};

type Rule = { sources: readonly Source[]; required: boolean; missing: string };

/** Builds the request-path resolver; everything derivable from the config is computed here. */
export function createIdentityResolver(
  config: IdentityResolverConfig,
  deps: IdentityResolverDeps,
): IdentityResolver {
  const identity = config.identity ?? identitySchema.parse(undefined);
  const attribution = config.attribution ?? attributionSchema.parse(undefined);
  const { requireCredential } = config;
  const verifier: JwtVerifier | undefined = identity.jwt
    ? createJwtVerifier(identity.jwt, deps)
    : undefined;
  const clock = deps.clock ?? systemClock;
  const keysFile = identity.api_keys?.file;
  const keyStore =
    deps.keyStore ??
    (keysFile ? new KeyStore(resolvePath(deps.baseDir ?? '.', keysFile), clock) : undefined);
  const required = new Set(attribution.require);
  const rule = (name: string, sources: readonly Source[]): Rule => ({
    sources,
    required: required.has(name),
    missing: missingMessage(name, sources),
  });
  const [org, team, user, endpoint] = DIMENSIONS.map((name) => rule(name, attribution[name]));
  const tagRules = Object.entries(attribution.tags).map(
    ([tag, sources]) => [tag, rule(`tag:${tag}`, sources)] as const,
  );
  if (!org || !team || !user || !endpoint) throw new Error('unreachable: four dimensions');
  const configuredTags = new Set(Object.keys(attribution.tags));

  const build = (ctx: Context, found: FoundCredentials): Identity => {
    const tags: Record<string, string> = {};
    for (const [tag, tagRule] of tagRules) {
      const value = pick(tagRule, ctx);
      if (value !== undefined) tags[tag] = value;
    }
    // A virtual key's own tags (`spendgate keys create --tag env=prod`) apply to its requests
    // unless the config gives that tag its own sources.
    for (const [tag, value] of Object.entries(ctx.record?.tags ?? {})) {
      if (!(tag in tags) && !configuredTags.has(tag)) tags[tag] = value;
    }
    return {
      org: pick(org, ctx) ?? null,
      team: pick(team, ctx) ?? null,
      user: pick(user, ctx) ?? null,
      endpoint: pick(endpoint, ctx) ?? null,
      key: ctx.record?.id ?? null,
      tags,
      credential: ctx.claims ? 'jwt' : ctx.record ? 'key' : null,
      credentialHeaders: found.headers,
    };
  };

  const resolve = (req: IdentityRequest): Identity | Promise<Identity> => {
    const found = findCredentials(req.headers, verifier !== undefined);
    if (requireCredential && found.jwt === undefined && found.key === undefined) {
      throw new GatewayError(
        'invalid_token',
        'this gateway needs a Spendgate API key or a signed JWT',
      );
    }
    const nowMs = clock.now();
    const record = found.key === undefined ? undefined : lookupKey(keyStore, found.key, nowMs);
    if (found.jwt === undefined || verifier === undefined) {
      return build({ req, claims: undefined, record }, found);
    }

    const cached = verifier.cached(found.jwt, nowMs);
    if (cached) return build({ req, claims: cached, record }, found);
    const verified = verifier.verify(found.jwt, nowMs);
    return verified.then((claims) => build({ req, claims, record }, found));
  };

  return {
    resolve(req) {
      try {
        return resolve(req);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

/** The client headers to strip before forwarding, because they carried a Spendgate credential. */
export function credentialHeaders(identity: Identity): readonly CredentialHeader[] {
  return identity.credentialHeaders;
}

function lookupKey(store: KeyStore | undefined, key: string, nowMs: number): KeyRecord {
  if (store === undefined) {
    throw new GatewayError('invalid_token', 'this gateway issues no Spendgate API keys');
  }
  const record = store.lookup(key, nowMs);
  if (record === undefined) {
    throw new GatewayError('invalid_token', 'unknown or revoked Spendgate API key');
  }
  return record;
}

// First present wins. A literal default does not satisfy `require`: a required dimension
// has to come from the request itself, or the rule could never fire.
function pick(rule: Rule, ctx: Context): string | undefined {
  for (const source of rule.sources) {
    if (rule.required && source.kind === 'literal') continue;
    const value = clean(read(source, ctx));
    if (value !== undefined) return value;
  }
  if (rule.required) throw new GatewayError('missing_identity', rule.missing);
  return undefined;
}

function read(source: Source, { req, claims, record }: Context): unknown {
  switch (source.kind) {
    case 'jwt':
      return claims === undefined ? undefined : claimValue(claims, source.claim, source.path);
    case 'header':
      return firstHeader(req.headers[source.name]);
    case 'query':
      return req.query.get(source.name);
    case 'path': {
      const query = req.path.indexOf('?');
      return query === -1 ? req.path : req.path.slice(0, query);
    }
    case 'key':
      return record?.[source.field];
    case 'key-tag':
      return record?.tags?.[source.tag];
    case 'literal':
      return source.value;
  }
}

// A claim name may itself contain dots (namespaced claims such as `https://example.com/org`),
// so the whole name is tried before it is walked as a path.
function claimValue(claims: JWTPayload, claim: string, path: readonly string[]): unknown {
  if (Object.hasOwn(claims, claim)) return scalar(claims[claim]);
  if (path.length < 2) return undefined;

  let node: unknown = claims;
  for (const part of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return scalar(node);
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.length > 0) return scalar(value[0]);
  return undefined;
}

function clean(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (trimmed.length <= MAX_VALUE_LENGTH) return trimmed;

  // Do not cut a surrogate pair in half: that would leave invalid UTF-16 in the ledger.
  const end = MAX_VALUE_LENGTH;
  const code = trimmed.charCodeAt(end - 1);
  return trimmed.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}

function missingMessage(name: string, sources: readonly Source[]): string {
  const tried = sources.filter((source) => source.kind !== 'literal').map((s) => s.text);
  const list = tried.length > 0 ? tried.join(', ') : 'no request sources configured';
  return (
    `this request needs the identity dimension "${name}"; ` +
    `none of its sources is present (${list})`
  );
}
