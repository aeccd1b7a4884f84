import type { LedgerRow } from '../../src/ledger/row.js';

/** A ledger row with sensible defaults, for tests that write the ledger directly. */
export function ledgerRow(
  id: string,
  timestampMs: number,
  extra: Partial<LedgerRow> = {},
): LedgerRow {
  return {
    requestId: id,
    timestampMs,
    org: 'acme',
    team: 'search',
    user: 'alice',
    endpoint: '/v1/chat/completions',
    provider: 'openai',
    upstream: 'openai',
    model: 'gpt-4o',
    resolvedModel: 'gpt-4o',
    deployment: null,
    status: 200,
    decision: 'allow',
    reason: null,
    streamed: false,
    inputTokens: 100,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 50,
    reasoningTokens: 0,
    costPico: 1_000_000_000n,
    usageSource: 'provider',
    priceSource: 'config',
    flags: [],
    latencyMs: 10,
    tags: {},
    keyId: null,
    countedInputTokens: 100,
    countedOutputTokens: 0,
    ...extra,
  };
}
