import { GatewayError } from '../errors.js';
import { KEY_PREFIX } from './keys.js';

/** The client headers a Spendgate credential may arrive in, as Node lower-cases them. */
export type CredentialHeader = 'authorization' | 'x-api-key' | 'api-key';

/** The Spendgate credentials found on a request, and the headers that carried them. */
export type FoundCredentials = {
  jwt: string | undefined;
  key: string | undefined;
  headers: readonly CredentialHeader[];
};

/** Header values as Node gives them; an array holds repeated headers. */
export type Headers = Record<string, string | string[] | undefined>;

/** The result for the common case of a request with no Spendgate credential, shared. */
export const NO_CREDENTIALS: FoundCredentials = Object.freeze({
  jwt: undefined,
  key: undefined,
  headers: Object.freeze([]) as readonly CredentialHeader[],
});

// OpenAI SDKs send `Authorization: Bearer`, Anthropic's `x-api-key`, Azure's `api-key`.
const CREDENTIAL_HEADERS: readonly CredentialHeader[] = ['authorization', 'x-api-key', 'api-key'];
// Three base64url parts; the third may be empty so an unsigned `alg: none` token is still
// recognised as a JWT and refused, instead of being mistaken for someone else's credential.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BEARER = /^bearer\s+/i;

/** The first value of a header; repeated headers arrive as arrays. */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/**
 * Finds the Spendgate credentials among the credential headers. A value that is neither a
 * virtual key nor (when JWTs are configured) a JWT is left alone: it is the client's own
 * provider key, passing through to an upstream that holds none.
 */
export function findCredentials(headers: Headers, acceptJwt: boolean): FoundCredentials {
  let jwt: string | undefined;
  let key: string | undefined;
  let carriers: CredentialHeader[] | undefined;

  for (const name of CREDENTIAL_HEADERS) {
    const raw = firstHeader(headers[name]);
    if (raw === undefined) continue;
    const token = name === 'authorization' ? bearerToken(raw) : raw.trim();
    if (token === undefined) continue;

    if (token.startsWith(KEY_PREFIX)) {
      key = same(key, token, 'API keys');
    } else if (acceptJwt && JWT_SHAPE.test(token)) {
      jwt = same(jwt, token, 'JWTs');
    } else {
      continue;
    }
    (carriers ??= []).push(name);
  }

  if (carriers === undefined) return NO_CREDENTIALS;
  return { jwt, key, headers: carriers };
}

function bearerToken(value: string): string | undefined {
  const match = BEARER.exec(value);
  return match ? value.slice(match[0].length).trim() : undefined;
}

// Two different credentials of one kind would make attribution depend on header order.
function same(previous: string | undefined, token: string, kind: string): string {
  if (previous !== undefined && previous !== token) {
    throw new GatewayError('invalid_token', `the request carries two different Spendgate ${kind}`);
  }
  return token;
}
