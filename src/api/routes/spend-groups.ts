import type {
  GroupKey,
  Ledger,
  RowFilter,
  SpendBucketRow,
  SpendQuery,
} from '../../ledger/ledger.js';

/** The largest `limit` of `GET /spend`. */
export const MAX_SPEND_GROUPS = 1000;

/** `limit` and `q` of `GET /spend`: keep the top groups, or the groups that match a text. */
export type GroupNarrowing = { limit?: number; q?: string };

/** Reads `limit` and `q`, or the message of the 400 they deserve. */
export function parseGroupNarrowing(
  params: URLSearchParams,
  groupBy: readonly GroupKey[],
): { narrowing: GroupNarrowing } | { error: string } {
  const limitText = params.get('limit');
  const q = params.get('q');
  const narrowing: GroupNarrowing = {};
  if (limitText !== null) {
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_SPEND_GROUPS) {
      return { error: `limit must be a whole number from 1 to ${MAX_SPEND_GROUPS}` };
    }
    narrowing.limit = limit;
  }
  if (q !== null && q !== '') {
    // A text search needs values to search in; without group_by there is one unnamed total.
    if (groupBy.length === 0) return { error: 'q needs group_by' };
    narrowing.q = q;
  }
  return { narrowing };
}

/** The rows of the kept groups, and how many groups matched before the limit. */
export type NarrowedSpend = { rows: SpendBucketRow[]; totalGroups: number };

/**
 * Runs a spend query narrowed to the groups that match `q` (a case-insensitive substring of any
 * group value) and, of those, the `limit` groups with the highest total cost over the range,
 * then the most requests (rejected requests cost nothing and rank by count). A kept group keeps
 * every one of its buckets, so a chart of the top tenants is whole.
 *
 * With buckets, summing every bucket of every group is the expensive part (10,000 tenants by
 * 30 days is 300,000 rows): so the groups are ranked on a query without buckets first, and only
 * the kept ones are then bucketed, each with its values as filters.
 */
export async function querySpendNarrowed(
  ledger: Pick<Ledger, 'querySpend'>,
  query: SpendQuery,
  narrowing: GroupNarrowing,
): Promise<NarrowedSpend> {
  const { limit } = narrowing;
  if (query.granularity === undefined || limit === undefined) {
    return narrowGroups(await ledger.querySpend(query), query.groupBy, narrowing);
  }

  const totals = narrowGroups(
    await ledger.querySpend({ ...query, granularity: undefined }),
    query.groupBy,
    narrowing,
  );
  const filters = totals.rows.map((group) => groupFilter(query.filter, query.groupBy, group));
  // A group with a missing tag value cannot be asked for by filter: bucket everything instead.
  if (totals.totalGroups <= limit || filters.includes(null)) {
    return narrowGroups(await ledger.querySpend(query), query.groupBy, narrowing);
  }

  const rank = new Map(totals.rows.map((group, i) => [groupId(group, query.groupBy), i]));
  const parts = await Promise.all(
    filters.map((filter) => ledger.querySpend({ ...query, filter: filter as RowFilter })),
  );
  const rows = parts.flat().sort((a, b) => {
    if (a.costPico !== b.costPico) return a.costPico > b.costPico ? -1 : 1;
    const bucket = (a.bucketStartMs ?? 0) - (b.bucketStartMs ?? 0);
    if (bucket !== 0) return bucket;
    return (rank.get(groupId(a, query.groupBy)) ?? 0) - (rank.get(groupId(b, query.groupBy)) ?? 0);
  });
  return { rows, totalGroups: totals.totalGroups };
}

/**
 * Keeps the rows of the groups that match `q` and, of those, the `limit` groups with the highest
 * summed cost (then requests); rows keep their order.
 */
export function narrowGroups(
  rows: readonly SpendBucketRow[],
  groupBy: readonly GroupKey[],
  narrowing: GroupNarrowing,
): NarrowedSpend {
  const needle = narrowing.q?.toLowerCase();
  const matching =
    needle === undefined
      ? [...rows]
      : rows.filter((row) =>
          groupBy.some((key) => (row.values[key] ?? '').toLowerCase().includes(needle)),
        );

  const groups = new Map<string, { costPico: bigint; requests: number }>();
  const ids = matching.map((row) => groupId(row, groupBy));
  matching.forEach((row, i) => {
    const id = ids[i] as string;
    const sum = groups.get(id);
    if (sum) {
      sum.costPico += row.costPico;
      sum.requests += row.requests;
    } else {
      groups.set(id, { costPico: row.costPico, requests: row.requests });
    }
  });
  if (narrowing.limit === undefined || groups.size <= narrowing.limit) {
    return { rows: matching, totalGroups: groups.size };
  }

  const ranked = [...groups.entries()].sort(([idA, a], [idB, b]) => {
    if (a.costPico !== b.costPico) return a.costPico > b.costPico ? -1 : 1;
    if (a.requests !== b.requests) return b.requests - a.requests;
    return idA < idB ? -1 : idA > idB ? 1 : 0;
  });
  const kept = new Set(ranked.slice(0, narrowing.limit).map(([id]) => id));
  return { rows: matching.filter((_, i) => kept.has(ids[i] as string)), totalGroups: groups.size };
}

/** A group's identity: its values in `groupBy` order; \u0001 marks a null apart from any text. */
function groupId(row: SpendBucketRow, groupBy: readonly GroupKey[]): string {
  let id = '';
  for (const key of groupBy) {
    const value = row.values[key];
    id += value === null || value === undefined ? '\u0000\u0001' : `\u0000${value}`;
  }
  return id;
}

/** The query's filter narrowed to one group's values; null when a value is missing. */
function groupFilter(
  base: RowFilter,
  groupBy: readonly GroupKey[],
  group: SpendBucketRow,
): RowFilter | null {
  const filter: RowFilter = { ...base, tags: base.tags ? { ...base.tags } : undefined };
  for (const key of groupBy) {
    const value = group.values[key];
    if (value === null || value === undefined) return null;
    if (key.startsWith('tag:')) (filter.tags ??= {})[key.slice(4)] = value;
    else filter[key as Exclude<GroupKey, `tag:${string}`>] = value;
  }
  if (filter.tags === undefined) delete filter.tags;
  return filter;
}
