import { z } from 'zod';

import { parseSource, TAG_NAME, type Source } from './sources.js';

/** The attribution dimensions besides tags, in the order the resolver fills them. */
export const DIMENSIONS = ['org', 'team', 'user', 'endpoint'] as const;

/** One of {@link DIMENSIONS}. */
export type Dimension = (typeof DIMENSIONS)[number];

/** Source lists used for a dimension the `attribution:` section does not mention. */
export const DEFAULT_SOURCES: Readonly<Record<Dimension, readonly string[]>> = {
  org: ['jwt:org_id', 'key:org', 'header:x-org-id', 'unattributed'],
  team: ['jwt:team_id', 'key:team', 'header:x-team-id', 'unattributed'],
  user: ['jwt:sub', 'key:user', 'header:x-user-id', 'unattributed'],
  endpoint: ['header:x-endpoint', 'path'],
};

/** Clock skew accepted on `exp` and `nbf`, in seconds. @default 30 */
export const DEFAULT_CLOCK_TOLERANCE_S = 30;

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must name an environment variable, not hold a secret');

const httpUrl = z.string().refine((text) => {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}, 'must be an http(s) URL');

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

// Seconds as a number, or a duration string in the file's `30s` / `5m` style.
const seconds = z.union([
  z.number().nonnegative(),
  z
    .string()
    .regex(/^\d+(s|m)$/, 'must be a duration such as 30s or 2m')
    .transform((text) => Number(text.slice(0, -1)) * (text.endsWith('m') ? 60 : 1)),
]);

const jwtSchema = z
  .object({
    /** Environment variable holding the HS256 shared secret. */
    hs256_secret_env: envName.optional(),
    /** JWKS file with the RS/ES/PS/EdDSA public keys, read once at start. */
    jwks_file: z.string().min(1).optional(),
    /** JWKS URL, fetched on demand and cached. */
    jwks_url: httpUrl.optional(),
    /** Accepted `iss` value(s); unset accepts any issuer. */
    issuer: oneOrMany.optional(),
    /** Accepted `aud` value(s); unset accepts any audience. */
    audience: oneOrMany.optional(),
    /** Clock skew accepted on `exp` / `nbf`. @default 30s */
    clock_tolerance: seconds.default(DEFAULT_CLOCK_TOLERANCE_S),
    /**
     * Refuse tokens without an `exp` claim, which would never expire. Set false only for
     * issuers of long-lived service tokens that cannot add one. @default true
     */
    require_exp: z.boolean().default(true),
  })
  .strict()
  .refine((jwt) => jwt.hs256_secret_env ?? jwt.jwks_file ?? jwt.jwks_url, {
    message: 'needs at least one of hs256_secret_env, jwks_file or jwks_url',
  })
  .refine((jwt) => !(jwt.jwks_file && jwt.jwks_url), {
    message: 'give jwks_file or jwks_url, not both',
  });

/** The `identity:` section: which credentials the gateway accepts and how it verifies them. */
export const identitySchema = z
  .object({
    /** Whether a request must carry a JWT or virtual key; defaulted from the upstreams. */
    require_credential: z.boolean().optional(),
    jwt: jwtSchema.optional(),
    /** Virtual API keys: a YAML file of hashed keys written by `spendgate keys`. */
    api_keys: z
      .object({ file: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict()
  .prefault({});

const sourceSchema = z.string().transform((text, ctx): Source => {
  const parsed = parseSource(text);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed;
});

const sourceList = z.array(sourceSchema);

/** The `attribution:` section: an ordered source list per dimension, first present wins. */
export const attributionSchema = z
  .object({
    org: sourceList.prefault([...DEFAULT_SOURCES.org]),
    team: sourceList.prefault([...DEFAULT_SOURCES.team]),
    user: sourceList.prefault([...DEFAULT_SOURCES.user]),
    endpoint: sourceList.prefault([...DEFAULT_SOURCES.endpoint]),
    /** `tag:<name>` dimensions, each with its own source list. @default {} */
    tags: z.record(z.string().regex(TAG_NAME, 'is not a valid tag name'), sourceList).default({}),
    /** Dimensions a request must carry (`org`, `tag:app`, ...), else 400. @default [] */
    require: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((section, ctx) => {
    section.require.forEach((name, index) => {
      const problem = requireProblem(name, section);
      if (problem) ctx.addIssue({ code: 'custom', path: ['require', index], message: problem });
    });
  })
  .prefault({});

function requireProblem(
  name: string,
  section: Record<Dimension, Source[]> & { tags: Record<string, Source[]> },
): string | undefined {
  const sources = requiredSources(name, section);
  if (typeof sources === 'string') return sources;

  // A literal default never satisfies a requirement, so such a rule would reject everything.
  if (sources.every((source) => source.kind === 'literal')) {
    return `${name} is required but has no source that reads the request`;
  }
  return undefined;
}

function requiredSources(
  name: string,
  section: Record<Dimension, Source[]> & { tags: Record<string, Source[]> },
): Source[] | string {
  if ((DIMENSIONS as readonly string[]).includes(name)) return section[name as Dimension];
  if (!name.startsWith('tag:')) {
    return `"${name}" is not a dimension (expected org, team, user, endpoint or tag:<name>)`;
  }
  const tag = name.slice(4);
  const sources = Object.hasOwn(section.tags, tag) ? section.tags[tag] : undefined;
  return sources ?? `${name} has no sources under attribution.tags`;
}

/** The parsed `identity:` section. */
export type IdentityConfig = z.output<typeof identitySchema>;

/** The parsed `identity.jwt` subsection. */
export type JwtConfig = NonNullable<IdentityConfig['jwt']>;

/** The parsed `attribution:` section, with every source already a typed {@link Source}. */
export type AttributionConfig = z.output<typeof attributionSchema>;
