/**
 * The `budgets:` and `rate_limits:` sections of the config file. Parsing validates them and
 * precomputes everything the hot path needs: limits in pico-dollars, sorted stages with their
 * thresholds, compiled scope matchers and a memoized period window.
 */
import { z } from 'zod';
import { whenList, whenValid } from '../config/when-valid.js';
import { usdToPico, type Pico } from '../money/money.js';
import { compileScope, isScopeKey, type ScopeMatcher } from './scope.js';
import {
  PERIODS,
  isValidTimezone,
  periodWindowCache,
  type Period,
  type PeriodWindow,
} from './period.js';

/** A policy's scope: dimension (or `tag:<name>`) → `"*"` or an exact value. */
export const scopeSchema = z
  .record(
    z.string().refine(isScopeKey, {
      message: 'a scope key is org, team, user, endpoint, model, provider, key or tag:<name>',
    }),
    z.union([z.string().min(1), z.number()]).transform(String),
  )
  .default({});

// docs/budgets.md: stages and alerts are percentages of the limit; none lies beyond it.
const PERCENT_RANGE = 'a percentage of the limit: above 0 and at most 100';
const percentSchema = z.number().gt(0, PERCENT_RANGE).max(100, PERCENT_RANGE);

const actionSchema = z
  .object({
    at: percentSchema,
    do: z.enum(['warn', 'throttle', 'reject']),
    delay_ms: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
  })
  .strict()
  .refine((a) => a.do !== 'throttle' || a.delay_ms !== undefined, {
    message: 'a throttle stage needs delay_ms: [low, high]',
    path: ['delay_ms'],
    when: whenValid('do', 'delay_ms'),
  })
  .refine((a) => a.do === 'throttle' || a.delay_ms === undefined, {
    message: 'delay_ms belongs to throttle stages only',
    path: ['delay_ms'],
    when: whenValid('do', 'delay_ms'),
  })
  .refine((a) => a.delay_ms === undefined || a.delay_ms[0] <= a.delay_ms[1], {
    message: 'delay_ms is [low, high] with low <= high',
    path: ['delay_ms'],
    when: whenValid('delay_ms'),
  });

/**
 * Stages are written lowest first, each at its own percentage: the throttle band runs from a
 * stage to the next one written, so a list out of order would not mean what it seems to.
 */
function stagesInOrder(actions: readonly unknown[], ctx: z.RefinementCtx): void {
  let previous: number | null = null;
  actions.forEach((action, i) => {
    const at = (action as { at?: unknown } | null)?.at;
    if (typeof at !== 'number') return;
    if (previous !== null && at <= previous) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'at'],
        message:
          at === previous
            ? `two stages at ${at}%: each stage needs its own percentage`
            : `stages go lowest first: ${at}% comes after ${previous}%`,
      });
    }
    previous = Math.max(previous ?? at, at);
  });
}

const alertSchema = z
  .object({ at: percentSchema, channels: z.array(z.string().min(1)).min(1) })
  .strict();

const anchorSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'an anchor is a date, YYYY-MM-DD')
  .refine(isCalendarDate, 'not a calendar date');

/** `2026-02-30` and `2026-13-45` have the anchor's shape but name no day. */
function isCalendarDate(text: string): boolean {
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

const budgetInputSchema = z
  .object({
    name: z.string().min(1),
    scope: scopeSchema,
    limit_usd: z.number().positive(),
    period: z.enum(PERIODS),
    /** @default UTC */
    timezone: z.string().refine(isValidTimezone, 'not an IANA time zone').default('UTC'),
    /** @default 1970-01-01 */
    anchor: anchorSchema.default('1970-01-01'),
    actions: z.array(actionSchema).min(1).superRefine(stagesInOrder, { when: whenList }).optional(),
    alerts: z.array(alertSchema).optional(),
    /** @default enforce */
    mode: z.enum(['enforce', 'shadow']).default('enforce'),
    /** @default cut */
    streams: z.enum(['cut', 'finish']).default('cut'),
  })
  .strict();

const rateLimitInputSchema = z
  .object({
    name: z.string().min(1),
    scope: scopeSchema,
    tokens_per_minute: z.number().int().positive().optional(),
    tokens_per_day: z.number().int().positive().optional(),
    requests_per_minute: z.number().int().positive().optional(),
    /** @default enforce */
    mode: z.enum(['enforce', 'shadow']).default('enforce'),
  })
  .strict()
  .refine(
    (r) =>
      r.tokens_per_minute !== undefined ||
      r.tokens_per_day !== undefined ||
      r.requests_per_minute !== undefined,
    {
      message: 'a rate limit needs tokens_per_minute, tokens_per_day or requests_per_minute',
      when: whenValid('tokens_per_minute', 'tokens_per_day', 'requests_per_minute'),
    },
  );

/** One enforcement stage of a budget, with its threshold precomputed. */
export type BudgetStage = {
  readonly at: number;
  readonly do: 'warn' | 'throttle' | 'reject';
  /** Committed + reserved at or above this reaches the stage (warn and throttle). */
  readonly thresholdPico: Pico;
  readonly delayLowMs: number;
  readonly delayHighMs: number;
  /** Where the throttle band ends: the next stage's `at`, or 100. */
  readonly bandEndAt: number;
};

/** A soft alert threshold of a budget. */
export type BudgetAlert = {
  readonly at: number;
  readonly channels: readonly string[];
  readonly thresholdPico: Pico;
};

/** A budget as the engine uses it, prepared once at config load. */
export type Budget = {
  readonly name: string;
  readonly scope: Readonly<Record<string, string>>;
  readonly limitUsd: number;
  readonly limitPico: Pico;
  readonly period: Period;
  readonly timezone: string;
  readonly anchor: string;
  readonly mode: 'enforce' | 'shadow';
  readonly streams: 'cut' | 'finish';
  /** Warn and throttle stages, lowest first; the reject stage is folded into `maxAfterPico`. */
  readonly stages: readonly BudgetStage[];
  /** Every stage including reject, lowest first, for reporting the stage an instance is in. */
  readonly allStages: readonly BudgetStage[];
  /** The most committed + reserved a request may leave behind; null when nothing rejects. */
  readonly maxAfterPico: Pico | null;
  readonly alerts: readonly BudgetAlert[];
  readonly matcher: ScopeMatcher;
  /** The period window containing an instant, memoized for the hot path. */
  readonly window: (nowMs: number) => PeriodWindow;
};

/** A token or request rate limit as the engine uses it. */
export type RateLimit = {
  readonly name: string;
  readonly scope: Readonly<Record<string, string>>;
  readonly tokensPerMinute: number | null;
  readonly tokensPerDay: number | null;
  readonly requestsPerMinute: number | null;
  readonly mode: 'enforce' | 'shadow';
  readonly matcher: ScopeMatcher;
};

/** A budget as written in the config file. */
export type BudgetConfig = z.input<typeof budgetInputSchema>;

/** A rate limit as written in the config file. */
export type RateLimitConfig = z.input<typeof rateLimitInputSchema>;

const MICRO_PERCENT = 100_000_000n;

function atMicro(at: number): bigint {
  return BigInt(Math.round(at * 1_000_000));
}

/** The smallest amount whose share of `limit` is at least `at` percent. */
function thresholdOf(limit: Pico, at: number): Pico {
  const scaled = limit * atMicro(at);
  return (scaled + MICRO_PERCENT - 1n) / MICRO_PERCENT;
}

function prepareBudget(input: z.output<typeof budgetInputSchema>): Budget {
  const limitPico = usdToPico(input.limit_usd);
  const actions = [...(input.actions ?? [{ at: 100, do: 'reject' as const }])].sort(
    (a, b) => a.at - b.at,
  );
  const allStages: BudgetStage[] = actions.map((action, i) => ({
    at: action.at,
    do: action.do,
    thresholdPico: thresholdOf(limitPico, action.at),
    delayLowMs: action.delay_ms?.[0] ?? 0,
    delayHighMs: action.delay_ms?.[1] ?? 0,
    bandEndAt: actions[i + 1]?.at ?? Math.max(100, action.at),
  }));
  const reject = allStages.find((s) => s.do === 'reject');
  let maxAfterPico: Pico | null = null;
  if (reject !== undefined) {
    // SPEC: a request is rejected when it would *pass* the limit, so 100% exactly still fits;
    // a reject stage set below 100% rejects as soon as utilization would reach it.
    maxAfterPico =
      reject.at >= 100
        ? (limitPico * atMicro(reject.at)) / MICRO_PERCENT
        : reject.thresholdPico - 1n;
  }

  return {
    name: input.name,
    scope: input.scope,
    limitUsd: input.limit_usd,
    limitPico,
    period: input.period,
    timezone: input.timezone,
    anchor: input.anchor,
    mode: input.mode,
    streams: input.streams,
    stages: allStages.filter(
      (s) => s.do !== 'reject' && (reject === undefined || s.at < reject.at),
    ),
    allStages,
    maxAfterPico,
    alerts: [...(input.alerts ?? [])]
      .sort((a, b) => a.at - b.at)
      .map((a) => ({
        at: a.at,
        channels: a.channels,
        thresholdPico: thresholdOf(limitPico, a.at),
      })),
    matcher: compileScope(input.scope),
    window: periodWindowCache(input.period, input.timezone, input.anchor),
  };
}

// Runs even when items failed (see whenValid), so an item may be anything the file holds.
function uniqueNames(list: readonly unknown[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  list.forEach((entry, i) => {
    const item = entry as { name?: unknown } | null;
    if (typeof item?.name !== 'string') return;
    if (seen.has(item.name)) {
      ctx.addIssue({ code: 'custom', message: `duplicate name "${item.name}"`, path: [i, 'name'] });
    }
    seen.add(item.name);
  });
}

/** The `budgets:` section: an array of budgets with unique names, prepared for the engine. */
export const budgetsSchema = z
  .array(budgetInputSchema)
  .superRefine(uniqueNames, { when: whenList })
  .transform((list) => list.map(prepareBudget));

/** The `rate_limits:` section: an array of rate limits with unique names. */
export const rateLimitsSchema = z
  .array(rateLimitInputSchema)
  .superRefine(uniqueNames, { when: whenList })
  .transform((list) =>
    list.map((r): RateLimit => ({
      name: r.name,
      scope: r.scope,
      tokensPerMinute: r.tokens_per_minute ?? null,
      tokensPerDay: r.tokens_per_day ?? null,
      requestsPerMinute: r.requests_per_minute ?? null,
      mode: r.mode,
      matcher: compileScope(r.scope),
    })),
  );
