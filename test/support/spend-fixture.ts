import type { Granularity } from '../../src/ledger/buckets.js';
import type { GroupKey, SpendBucketRow, SpendQuery } from '../../src/ledger/ledger.js';
import type { LedgerRow } from '../../src/ledger/row.js';
import { isUnpriced } from '../../src/ledger/rollups.js';

/**
 * Generated ledger rows and the spend answers worked out from them without any ledger: the
 * reference every ledger's spend query is checked against.
 */

export const H = 3_600_000;
export const D = 24 * H;
export const START = Date.parse('2026-02-23T00:00:00Z');
// Fixed offsets: neither zone has daylight saving, so the test's own arithmetic is exact.
const OFFSETS: Record<string, number> = { UTC: 0, 'Asia/Shanghai': 8 * H, 'Asia/Kolkata': 5.5 * H };

export const GROUPINGS: GroupKey[][] = [
  ['org'],
  ['team'],
  ['user'],
  ['endpoint'],
  ['model'],
  ['provider'],
  ['upstream'],
  ['decision'],
  ['key'],
  ['tag:app'],
  ['tag:env'],
  ['org', 'model'],
  ['team', 'tag:env'],
  ['endpoint', 'user'],
];
export const GRANULARITIES: (Granularity | undefined)[] = [
  undefined,
  'hour',
  'day',
  'week',
  'month',
];
export const ZONES = ['UTC', 'Asia/Shanghai', 'Asia/Kolkata'];

function rng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/** `count` rows over 40 days from START: three orgs, tags, keys, unpriced and rejected rows. */
export function generate(count: number): LedgerRow[] {
  const next = rng(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const org = pick(['acme', 'beta', 'gamma']);
    const tags: Record<string, string> = { app: pick(['chat', 'search', 'ingest']) };
    if (next() < 0.5) tags.env = pick(['prod', 'staging']);
    const costPico = next() < 0.05 ? null : BigInt(Math.floor(next() * 1e9)) * 1_000_003n + 7n;
    // Rows without a cost: most for a model with no price, some unmetered (not about a price).
    const flags = costPico !== null ? [] : i % 3 === 0 ? ['unmetered'] : ['unpriced_model'];
    return {
      requestId: `r${i}`,
      timestampMs: START + Math.floor(next() * 40 * D),
      org,
      team: `${org}-${pick(['a', 'b'])}`,
      user: `u${Math.floor(next() * 9)}`,
      endpoint: pick(['/chat', '/embed', '/summarise']),
      provider: pick(['openai', 'anthropic']),
      upstream: pick(['primary', 'backup']),
      model: pick(['gpt-4o', 'claude-sonnet-4-5', 'gpt-4o-mini']),
      resolvedModel: null,
      deployment: null,
      status: 200,
      decision: pick(['allow', 'allow', 'warn', 'reject'] as const),
      reason: null,
      streamed: false,
      inputTokens: Math.floor(next() * 5000),
      cachedInputTokens: Math.floor(next() * 100),
      cacheWriteTokens: 0,
      outputTokens: Math.floor(next() * 800),
      reasoningTokens: 0,
      costPico,
      usageSource: 'provider',
      priceSource: null,
      flags,
      latencyMs: 5,
      tags,
      keyId: next() < 0.3 ? null : `key-${Math.floor(next() * 4)}`,
      countedInputTokens: 0,
      countedOutputTokens: 0,
    };
  });
}

function valueOf(row: LedgerRow, key: GroupKey): string | null {
  if (key.startsWith('tag:')) return row.tags[key.slice(4)] ?? null;
  if (key === 'key') return row.keyId;
  return row[key as 'org'];
}

function localBucket(ts: number, granularity: Granularity, tz: string): number {
  const off = OFFSETS[tz] as number;
  const local = ts + off;
  if (granularity === 'minute') return Math.floor(local / 60_000) * 60_000 - off;
  if (granularity === 'hour') return Math.floor(local / H) * H - off;
  const day = Math.floor(local / D);
  if (granularity === 'day') return day * D - off;
  // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
  if (granularity === 'week') return (day - ((day + 3) % 7)) * D - off;
  const date = new Date(day * D);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) - off;
}

/** The answer worked out from the generated rows, without the ledger. */
export function expected(rows: LedgerRow[], q: SpendQuery): SpendBucketRow[] {
  const groups = new Map<string, SpendBucketRow>();
  for (const row of rows) {
    if (q.fromMs !== undefined && row.timestampMs < q.fromMs) continue;
    if (q.toMs !== undefined && row.timestampMs >= q.toMs) continue;
    if (q.filter.org !== undefined && row.org !== q.filter.org) continue;
    if (Object.entries(q.filter.tags ?? {}).some(([k, v]) => row.tags[k] !== v)) continue;
    const values = Object.fromEntries(q.groupBy.map((k) => [k, valueOf(row, k)]));
    const bucket = q.granularity
      ? localBucket(row.timestampMs, q.granularity, q.tz ?? 'UTC')
      : undefined;
    const id = JSON.stringify([bucket, values]);
    const group = groups.get(id) ?? {
      values,
      ...(bucket === undefined ? {} : { bucketStartMs: bucket }),
      costPico: 0n,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      unpricedRequests: 0,
    };
    group.costPico += row.costPico ?? 0n;
    if (isUnpriced(row)) group.unpricedRequests += 1;
    group.requests += 1;
    group.inputTokens += row.inputTokens;
    group.outputTokens += row.outputTokens;
    group.cachedInputTokens += row.cachedInputTokens;
    groups.set(id, group);
  }
  return canonical([...groups.values()]);
}

/** Spend rows in a fixed order (bucket, then values), to compare answers of any order. */
export function canonical(rows: SpendBucketRow[]): SpendBucketRow[] {
  const id = (r: SpendBucketRow) => JSON.stringify([r.bucketStartMs ?? null, r.values]);
  return [...rows].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}
