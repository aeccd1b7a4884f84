import { z } from 'zod';
import { usdToPico } from '../money/money.js';

/** Default output-token reservation for a request that sets no output limit. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

// A price in USD per million tokens, taken at its written decimal value and kept as exact
// pico-dollars per million tokens from here on.
const rate = z
  .number()
  .nonnegative()
  .refine(Number.isFinite, 'must be a finite number')
  .transform((usd) => usdToPico(usd));

const optionalRates = {
  /** USD per million cache-read input tokens; absent means cache reads cost the input price. */
  cached_input_per_mtok: rate.optional(),
  /** USD per million 5-minute cache-write tokens; absent means the input price. */
  cache_write_per_mtok: rate.optional(),
  /** USD per million 1-hour cache-write tokens; absent means `cache_write_per_mtok`. */
  cache_write_1h_per_mtok: rate.optional(),
  /** USD per million reasoning tokens, only where reasoning is priced apart from output. */
  reasoning_per_mtok: rate.optional(),
  /** USD per million audio input tokens; absent means the input price. */
  input_audio_per_mtok: rate.optional(),
  /** USD per million audio output tokens; absent means the output price. */
  output_audio_per_mtok: rate.optional(),
  /** USD per million image input tokens; absent means the input price. */
  input_image_per_mtok: rate.optional(),
  /** USD per million image output tokens; absent means the output price. */
  output_image_per_mtok: rate.optional(),
};

const requiredRates = {
  /** USD per million uncached text input tokens. */
  input_per_mtok: rate,
  /** USD per million text output tokens (reasoning included unless priced apart). */
  output_per_mtok: rate,
  ...optionalRates,
};

/** A long-context tier: the prices it names replace the base ones above its bound. */
const tierSchema = z
  .object({
    /** The tier applies to a request whose total input tokens are above this number. */
    above_input_tokens: z.number().int().nonnegative(),
    /** @default the model's `input_per_mtok` */
    input_per_mtok: rate.optional(),
    /** @default the model's `output_per_mtok` */
    output_per_mtok: rate.optional(),
    ...optionalRates,
  })
  .strict();

/** The prices of one model, in USD per million tokens. */
export const modelPriceSchema = z
  .object({
    ...requiredRates,
    /**
     * Output tokens reserved against budgets when a request sets no output limit.
     * @default 4096
     */
    default_max_output_tokens: z.number().int().positive().optional(),
    /**
     * Long-context tiers, each applying to every token class of a request above its bound.
     * @default []
     */
    tiers: z
      .array(tierSchema)
      .default([])
      .superRefine((tiers, ctx) => {
        const seen = new Set<number>();
        for (const [index, tier] of tiers.entries()) {
          if (seen.has(tier.above_input_tokens)) {
            ctx.addIssue({
              code: 'custom',
              path: [index, 'above_input_tokens'],
              message: `duplicate tier bound ${tier.above_input_tokens}`,
            });
          }
          seen.add(tier.above_input_tokens);
        }
      }),
  })
  .strict();

/** The `pricing.unknown_model` rates: input and output prices plus the optional slices. */
const fallbackRatesSchema = z.object(requiredRates).strict();

/** The config's `pricing` section: per-model prices and the unknown-model policy. */
export const pricingSchema = z
  .object({
    /**
     * Model name → prices; beats the bundled catalogue. A key `ft:<base>` prices the
     * fine-tunes of `<base>`.
     * @default {}
     */
    models: z.record(z.string().min(1), modelPriceSchema).default({}),
    /**
     * What a model with no price gets: rates (charged and flagged `price_fallback`), or
     * `reject` (400 `unknown_model`). Unset serves it with cost `null`, flagged
     * `unpriced_model`.
     */
    unknown_model: z.union([z.literal('reject'), fallbackRatesSchema]).optional(),
  })
  .strict();

/** The `pricing` section as written in the config file (USD numbers). */
export type PricingInput = z.input<typeof pricingSchema>;

/** The parsed `pricing` section, rates in pico-dollars per million tokens. */
export type PricingConfig = z.output<typeof pricingSchema>;

/** One parsed `pricing.models` entry. */
export type ModelPriceConfig = z.output<typeof modelPriceSchema>;

/** The parsed `pricing.unknown_model` rates. */
export type FallbackRatesConfig = z.output<typeof fallbackRatesSchema>;
