import type { LedgerRow } from '../ledger/row.js';
import { picoToDecimal } from '../money/money.js';
import { RawJson } from './json.js';

/** A ledger row in its exported shape (SPEC "Ledger row"), costs as exact decimal numbers. */
export function rowToExport(row: LedgerRow): Record<string, unknown> {
  return {
    request_id: row.requestId,
    timestamp: new Date(row.timestampMs).toISOString(),
    org: row.org,
    team: row.team,
    user: row.user,
    endpoint: row.endpoint,
    provider: row.provider,
    upstream: row.upstream,
    model: row.model,
    resolved_model: row.resolvedModel,
    status: row.status,
    decision: row.decision,
    reason: row.reason,
    streamed: row.streamed,
    input_tokens: row.inputTokens,
    cached_input_tokens: row.cachedInputTokens,
    cache_write_tokens: row.cacheWriteTokens,
    output_tokens: row.outputTokens,
    reasoning_tokens: row.reasoningTokens,
    cost_usd: row.costPico === null ? null : new RawJson(picoToDecimal(row.costPico)),
    usage_source: row.usageSource,
    price_source: row.priceSource,
    flags: row.flags,
    latency_ms: row.latencyMs,
    tags: row.tags,
    deployment: row.deployment,
    key: row.keyId,
    counted_input_tokens: row.countedInputTokens,
    counted_output_tokens: row.countedOutputTokens,
  };
}
