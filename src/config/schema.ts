import { z } from 'zod';
import { durationSchema } from './duration.js';
import { pricingSchema } from '../pricing/schema.js';
import { attributionSchema, identitySchema } from '../identity/schema.js';
import { budgetsSchema, rateLimitsSchema } from '../policy/schema.js';
import { alertingSchema, channelsSchema } from '../alert/schema.js';
import { anomalySchema } from '../policy/anomaly.js';
import { circuitBreakerSchema } from '../policy/circuit-breaker.js';
import { loopDetectionSchema } from '../policy/loop-detector.js';
import { ledgerUrlProblem } from '../ledger/ledger-url.js';
import { countersProblem } from '../store/redis-url.js';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/** Where the gateway listens. */
export const listenSchema = z
  .object({
    /** @default 127.0.0.1 */
    host: z.string().default('127.0.0.1'),
    /** @default 8080 */
    port: z.number().int().min(0).max(65535).default(8080),
    /** Request bodies above this many MiB get 413. @default 32 */
    max_body_mb: z.number().positive().default(32),
  })
  .strict();

/** One upstream provider; its name in the map is the path prefix clients call. */
export const upstreamSchema = z
  .object({
    format: z.enum(['openai', 'anthropic', 'azure-openai']),
    base_url: z.url({
      protocol: /^https?$/,
      error: 'needs to start with http:// or https:// (e.g. https://api.openai.com)',
    }),
    /** The environment variable holding the provider key; without it the client's key passes. */
    api_key_env: envName.optional(),
    /** @default 600s */
    timeout: durationSchema.default(600_000),
    /** Azure only: deployment name → the priced model it runs. */
    deployments: z.record(z.string(), z.string()).optional(),
    /** Provider id for pricing and the ledger. @default derived from the format and name */
    provider: z.string().optional(),
    /** What to do with endpoints Spendgate does not meter (files, batches, audio...). @default forward */
    unmetered: z.enum(['forward', 'reject']).default('forward'),
    /** Connections kept open to this upstream. @default 128 */
    connections: z.number().int().positive().default(128),
  })
  .strict();

/**
 * First path segments the gateway answers itself, before any upstream: an upstream with one of
 * these names would be unreachable, or would take the gateway's own paths.
 */
export const RESERVED_UPSTREAM_NAMES: ReadonlyMap<string, string> = new Map([
  ['api', '/api/v1'],
  ['metrics', '/metrics'],
  ['dashboard', '/dashboard'],
  ['livez', '/livez'],
  ['readyz', '/readyz'],
  ['v1', '/v1/decision, /v1/usage'],
]);

// A scope key the ledger can filter on: a typo here must not widen what a token sees.
const ADMIN_SCOPE_KEY =
  /^(org|team|user|endpoint|model|provider|upstream|key|tag:[A-Za-z0-9_.-]+)$/;

const adminTokenSchema = z
  .object({
    name: z.string().min(1),
    token_env: envName,
    /** Limits the token to rows of these dimension values, read-only. */
    scope: z
      .record(
        z
          .string()
          .regex(
            ADMIN_SCOPE_KEY,
            'a scope key is org, team, user, endpoint, model, provider, upstream, key or tag:<name>',
          ),
        z.string().min(1),
      )
      .optional(),
  })
  .strict();

/** A string setting that `problemOf` checks: it says what is wrong with a value, or null. */
function checkedString(problemOf: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const storageSchema = z
  .object({
    /** `sqlite:<path>` or `postgres://user@host:port/db`. @default sqlite:./spendgate.db */
    ledger: checkedString(ledgerUrlProblem).default('sqlite:./spendgate.db'),
    /** `memory`, or `redis://host:port/db?prefix=..` (see docs/storage.md). @default memory */
    counters: checkedString(countersProblem).default('memory'),
    /** @default fail_open */
    on_store_down: z.enum(['fail_open', 'fail_closed']).default('fail_open'),
    /**
     * Folder (relative to the config file) where a PostgreSQL ledger spools rows while its
     * database is out; one per gateway process. @default ./spendgate-spool
     */
    spool_dir: z.string().min(1).default('./spendgate-spool'),
  })
  .strict();

/** The whole configuration file. Every section but `upstreams` is optional. */
export const configSchema = z
  .object({
    listen: listenSchema.default({ host: '127.0.0.1', port: 8080, max_body_mb: 32 }),
    admin: z
      .object({ tokens: z.array(adminTokenSchema).default([]) })
      .strict()
      .default({ tokens: [] }),
    storage: storageSchema.default({
      ledger: 'sqlite:./spendgate.db',
      counters: 'memory',
      on_store_down: 'fail_open',
      spool_dir: './spendgate-spool',
    }),
    upstreams: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9_.-]+$/, 'a path segment (letters, digits, _ . -)')
          .superRefine((name, ctx) => {
            const served = RESERVED_UPSTREAM_NAMES.get(name);
            if (served === undefined) return;
            ctx.addIssue({
              code: 'custom',
              message:
                `"${name}" is a path the gateway serves itself (${served}): ` +
                'choose another upstream name',
            });
          }),
        upstreamSchema,
      )
      .refine((u) => Object.keys(u).length > 0, 'at least one upstream is needed'),
    identity: identitySchema.optional(),
    decision: z
      .object({ usage_timeout: durationSchema.default(600_000) })
      .strict()
      .optional(),
    attribution: attributionSchema.optional(),
    pricing: pricingSchema.optional(),
    budgets: budgetsSchema.optional(),
    rate_limits: rateLimitsSchema.optional(),
    channels: channelsSchema.optional(),
    alerting: alertingSchema,
    anomaly: anomalySchema.optional(),
    circuit_breaker: circuitBreakerSchema.optional(),
    loop_detection: loopDetectionSchema.optional(),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
