/** Identity and attribution: who a request is for, from verified JWTs, virtual keys and headers. */
export {
  createIdentityResolver,
  queryOf,
  credentialHeaders,
  type Identity,
  type IdentityRequest,
  type IdentityResolver,
  type IdentityResolverConfig,
  type IdentityResolverDeps,
} from './attribution.js';
export { findCredentials, type CredentialHeader, type FoundCredentials } from './credentials.js';
export { DEFAULT_JWT_CACHE_SIZE, JwtCache } from './jwt-cache.js';
export { createJwtVerifier, loadJwksFile, type Env, type JwtVerifier } from './jwt.js';
export { KEY_FILE_CHECK_MS, KeyStore, type KeyStoreOptions } from './key-store.js';
export {
  createKey,
  generateKey,
  hashKey,
  KEY_PREFIX,
  listKeys,
  parseKeysFile,
  revokeKey,
  writeKeysFile,
  type KeyFields,
  type KeyRecord,
} from './keys.js';
export {
  attributionSchema,
  DEFAULT_SOURCES,
  DIMENSIONS,
  identitySchema,
  type AttributionConfig,
  type Dimension,
  type IdentityConfig,
  type JwtConfig,
} from './schema.js';
export { parseSource, type Source } from './sources.js';
