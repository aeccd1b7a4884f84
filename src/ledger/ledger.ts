import type { EventLog } from '../events/event.js';
import type { Granularity } from './buckets.js';
import type { KillSwitch } from '../policy/kill-switch.js';
import type { LedgerRow } from './row.js';

/** The row columns `RowFilter` and the admin API's query parameters can filter on. */
export const FILTER_COLUMNS = [
  'org',
  'team',
  'user',
  'endpoint',
  'model',
  'provider',
  'upstream',
  'decision',
  'key',
] as const;

/** Filters on the ledger's dimensions; every given one must match. */
export type RowFilter = Partial<Record<(typeof FILTER_COLUMNS)[number], string>> & {
  tags?: Record<string, string>;
  fromMs?: number;
  toMs?: number;
};

export type RequestPage = { rows: LedgerRow[]; nextCursor: string | null };

/** A dimension to group spend by: a column, or `tag:<name>`. */
export type GroupKey =
  | 'org'
  | 'team'
  | 'user'
  | 'endpoint'
  | 'model'
  | 'provider'
  | 'upstream'
  | 'decision'
  | 'key'
  | `tag:${string}`;

/** The plain columns `GroupKey` accepts, besides `tag:<name>`. */
export const GROUP_COLUMNS = [...FILTER_COLUMNS, 'key'] as const;

/** A spend query: group keys, optional time buckets in a zone, a time range and filters. */
export type SpendQuery = {
  groupBy: readonly GroupKey[];
  granularity?: Granularity;
  /** IANA zone of the buckets. @default 'UTC' */
  tz?: string;
  /** Inclusive start, ms since the epoch. */
  fromMs?: number;
  /** Exclusive end, ms since the epoch. */
  toMs?: number;
  filter: RowFilter;
};

/** One row of a spend query: a group (and bucket) with its exact sums. */
export type SpendBucketRow = {
  values: Record<string, string | null>;
  /** Start of the bucket, when the query has a granularity. */
  bucketStartMs?: number;
  costPico: bigint;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Requests whose model had no price: their cost is unknown and not in `costPico`. */
  unpricedRequests: number;
};

/** What one row contributes to budgets: its dimensions, cost and admission time. */
export type SpendRow = {
  dims: {
    org: string;
    team: string;
    user: string;
    endpoint: string;
    model: string;
    provider: string;
    key: string | null;
    tags: Record<string, string>;
  };
  costPico: bigint;
  /** Input plus output tokens, what token buckets are charged. */
  tokens: number;
  atMs: number;
};

/** Kill switches are kept with the ledger so they survive a restart. */
export interface KillSwitchStore {
  /** Resolves once the switch is durable: an operator's block survives a crash right after. */
  save(record: KillSwitch, createdAtMs: number): Promise<void>;
  /** Resolves to whether a switch with that id existed. */
  delete(id: string): Promise<boolean>;
  load(): Promise<KillSwitch[]>;
}

/**
 * How the ledger's storage is doing: `ok`; `down` while its database cannot be reached (rows
 * go to the local spool, reads fail); `replaying` while spooled rows are written back.
 */
export type LedgerHealth = { state: 'ok' | 'down' | 'replaying'; spooledRows: number };

/**
 * The ledger: rows are appended on the request path without waiting and written in batches off
 * it. `flush` resolves once every row appended before the call is durable. Reads are async: a
 * database ledger answers over the network, and fails fast (a `store_unavailable` GatewayError)
 * while its database cannot be reached.
 */
export interface Ledger {
  readonly events: EventLog;
  readonly killSwitches: KillSwitchStore;
  append(row: LedgerRow): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Rows not yet written to the ledger's database (queued in memory or spooled). */
  pending(): number;
  health(): LedgerHealth;
  /** Up to `limit` rows after `after` (exclusive), oldest first: the pages of an export. */
  scanRows(
    filter: RowFilter,
    after: { ts: number; id: string } | null,
    limit: number,
  ): Promise<LedgerRow[]>;
  /** Raw rows, newest first, paginated by an opaque cursor. */
  queryRequests(filter: RowFilter, limit: number, cursor?: string | null): Promise<RequestPage>;
  /**
   * Rows admitted at or after `fromMs`, in admission order: the charged ones (to rebuild budget
   * counters at start), or with `served` every request that was not rejected (for replays).
   * Read in pages, so no statement stays open while the consumer awaits.
   */
  spendRows(fromMs: number, opts?: { served?: boolean }): AsyncIterable<SpendRow>;
  /** Grouped, bucketed spend, sorted by cost, highest first; exact to the pico-dollar. */
  querySpend(query: SpendQuery): Promise<SpendBucketRow[]>;
}
