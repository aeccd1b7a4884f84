import type { LedgerRow } from './row.js';

/** A ledger row as stored in SQLite (snake_case columns, JSON tags, comma-joined flags). */
export type RowRecord = {
  request_id: string;
  ts: number | bigint;
  org: string;
  team: string;
  user: string;
  endpoint: string;
  provider: string;
  upstream: string;
  model: string;
  resolved_model: string | null;
  deployment: string | null;
  status: number | bigint;
  decision: string;
  reason: string | null;
  streamed: number | bigint;
  input_tokens: number | bigint;
  cached_input_tokens: number | bigint;
  cache_write_tokens: number | bigint;
  output_tokens: number | bigint;
  reasoning_tokens: number | bigint;
  cost_pico: bigint | null;
  usage_source: string;
  price_source: string | null;
  flags: string;
  latency_ms: number | bigint;
  tags: string;
  key_id: string | null;
  counted_input_tokens: number | bigint;
  counted_output_tokens: number | bigint;
};

/** How many columns `requests` has: the length of {@link rowToParams}'s answer. */
export const REQUEST_COLUMN_COUNT = 29;

/** The values of a row in the column order of `requests`, for its positional insert. */
export function rowToParams(row: LedgerRow, tags: string): unknown[] {
  return [
    row.requestId,
    row.timestampMs,
    row.org,
    row.team,
    row.user,
    row.endpoint,
    row.provider,
    row.upstream,
    row.model,
    row.resolvedModel,
    row.deployment,
    row.status,
    row.decision,
    row.reason,
    row.streamed ? 1 : 0,
    row.inputTokens,
    row.cachedInputTokens,
    row.cacheWriteTokens,
    row.outputTokens,
    row.reasoningTokens,
    row.costPico,
    row.usageSource,
    row.priceSource,
    row.flags.join(','),
    Math.round(row.latencyMs),
    tags,
    row.keyId,
    row.countedInputTokens,
    row.countedOutputTokens,
  ];
}

/** Maps a stored record (read with safe integers) back to a row. */
export function rowFromRecord(r: RowRecord): LedgerRow {
  return {
    requestId: r.request_id,
    timestampMs: Number(r.ts),
    org: r.org,
    team: r.team,
    user: r.user,
    endpoint: r.endpoint,
    provider: r.provider,
    upstream: r.upstream,
    model: r.model,
    resolvedModel: r.resolved_model,
    deployment: r.deployment,
    status: Number(r.status),
    decision: r.decision as LedgerRow['decision'],
    reason: r.reason,
    streamed: Number(r.streamed) === 1,
    inputTokens: Number(r.input_tokens),
    cachedInputTokens: Number(r.cached_input_tokens),
    cacheWriteTokens: Number(r.cache_write_tokens),
    outputTokens: Number(r.output_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    costPico: r.cost_pico === null ? null : BigInt(r.cost_pico),
    usageSource: r.usage_source as LedgerRow['usageSource'],
    priceSource: r.price_source,
    flags: r.flags ? r.flags.split(',') : [],
    latencyMs: Number(r.latency_ms),
    tags: JSON.parse(r.tags) as Record<string, string>,
    keyId: r.key_id,
    countedInputTokens: Number(r.counted_input_tokens),
    countedOutputTokens: Number(r.counted_output_tokens),
  };
}
