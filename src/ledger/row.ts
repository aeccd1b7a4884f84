import type { Pico } from '../money/money.js';
import type { UsageSource } from '../providers/types.js';

/** What the gateway did with a request. */
export type Decision = 'allow' | 'warn' | 'throttle' | 'reject' | 'error';

/**
 * One ledger row: one request, as SPEC "Ledger row" gives it, plus the gateway's own token counts
 * (kept beside the provider's so estimation error is measurable) and the virtual key id.
 */
export type LedgerRow = {
  requestId: string;
  /** Admission time, ms since the epoch. */
  timestampMs: number;
  org: string;
  team: string;
  user: string;
  endpoint: string;
  provider: string;
  upstream: string;
  /** The model as the client sent it (for Azure: the deployment's configured model). */
  model: string;
  /** The catalogue or config key used for pricing; null when unpriced. */
  resolvedModel: string | null;
  /** Azure deployment name, when there is one. */
  deployment: string | null;
  status: number;
  decision: Decision;
  reason: string | null;
  streamed: boolean;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** Null when the model has no price: never silently 0. */
  costPico: Pico | null;
  usageSource: UsageSource;
  priceSource: string | null;
  flags: string[];
  latencyMs: number;
  tags: Record<string, string>;
  keyId: string | null;
  countedInputTokens: number;
  countedOutputTokens: number;
};

/** The column order of CSV, JSON and NDJSON exports: SPEC "Ledger row". */
export const EXPORT_COLUMNS = [
  'request_id',
  'timestamp',
  'org',
  'team',
  'user',
  'endpoint',
  'provider',
  'upstream',
  'model',
  'resolved_model',
  'status',
  'decision',
  'reason',
  'streamed',
  'input_tokens',
  'cached_input_tokens',
  'cache_write_tokens',
  'output_tokens',
  'reasoning_tokens',
  'cost_usd',
  'usage_source',
  'price_source',
  'flags',
  'latency_ms',
  'tags',
] as const;
