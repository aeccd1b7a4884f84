import { GRANULARITIES, isTimeZone, type Granularity } from '../../ledger/buckets.js';
import {
  GROUP_COLUMNS,
  type GroupKey,
  type SpendBucketRow,
  type SpendQuery,
} from '../../ledger/ledger.js';
import { picoToDecimal } from '../../money/money.js';
import { parseIsoTime, sendJson, sendJsonError, type AdminCall } from '../http.js';
import { RawJson, toJson } from '../json.js';
import { scopedFilter } from './requests.js';
import { TAG_NAME } from '../../identity/sources.js';
import { parseGroupNarrowing, querySpendNarrowed } from './spend-groups.js';

const COLUMN_KEYS: ReadonlySet<string> = new Set(GROUP_COLUMNS);
const GRANULARITY_SET: ReadonlySet<string> = new Set(GRANULARITIES);

/** A spend query's parameters, or the message of the 400 they deserve. */
export type ParsedSpend = { query: Omit<SpendQuery, 'filter'> } | { error: string };

/** Reads `group_by`, `granularity`, `from`, `to` and `tz` of `GET /spend`. */
export function parseSpendParams(params: URLSearchParams): ParsedSpend {
  const groupBy: GroupKey[] = [];
  for (const key of (params.get('group_by') ?? '').split(',')) {
    const name = key.trim();
    if (name === '') continue;
    if (!COLUMN_KEYS.has(name) && !(name.startsWith('tag:') && TAG_NAME.test(name.slice(4)))) {
      return {
        error: `group_by: unknown key "${name}" (use ${[...COLUMN_KEYS].join(', ')} or tag:<name>)`,
      };
    }
    if (!groupBy.includes(name as GroupKey)) groupBy.push(name as GroupKey);
  }

  const granularity = params.get('granularity');
  if (granularity !== null && !GRANULARITY_SET.has(granularity)) {
    return { error: `granularity must be one of ${GRANULARITIES.join(', ')}` };
  }
  const tz = params.get('tz') ?? 'UTC';
  if (!isTimeZone(tz)) return { error: `tz: "${tz}" is not an IANA time zone` };

  const fromMs = parseIsoTime(params.get('from'));
  const toMs = parseIsoTime(params.get('to'));
  if (Number.isNaN(fromMs)) return { error: 'from must be an ISO 8601 time' };
  if (Number.isNaN(toMs)) return { error: 'to must be an ISO 8601 time' };
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    return { error: 'from must be before to' };
  }

  return {
    query: {
      groupBy,
      tz,
      ...(granularity === null ? {} : { granularity: granularity as Granularity }),
      ...(fromMs === undefined ? {} : { fromMs }),
      ...(toMs === undefined ? {} : { toMs }),
    },
  };
}

/** A spend row in the API's shape: group values, bucket, exact `cost_usd`, counts. */
function spendToJson(row: SpendBucketRow): Record<string, unknown> {
  return {
    ...row.values,
    bucket: row.bucketStartMs === undefined ? undefined : new Date(row.bucketStartMs).toISOString(),
    cost_usd: new RawJson(picoToDecimal(row.costPico)),
    requests: row.requests,
    input_tokens: row.inputTokens,
    output_tokens: row.outputTokens,
    cached_input_tokens: row.cachedInputTokens,
    unpriced_requests: row.unpricedRequests,
  };
}

/**
 * `GET /spend`: grouped, bucketed spend, highest cost first, confined to the token's scope.
 * `limit` and `q` narrow the groups (spend-groups.ts); the answer then also has `total_groups`.
 */
export async function getSpend({ deps, res, url, token }: AdminCall): Promise<void> {
  const parsed = parseSpendParams(url.searchParams);
  if ('error' in parsed) return sendJsonError(res, 400, 'invalid_request', parsed.error);
  const narrowed = parseGroupNarrowing(url.searchParams, parsed.query.groupBy);
  if ('error' in narrowed) return sendJsonError(res, 400, 'invalid_request', narrowed.error);
  const { narrowing } = narrowed;
  const narrows = narrowing.limit !== undefined || narrowing.q !== undefined;
  const filter = scopedFilter(url.searchParams, token);
  if (!filter)
    return sendJson(res, 200, toJson({ data: [], total_groups: narrows ? 0 : undefined }));

  if (!narrows) {
    const rows = await deps.ledger.querySpend({ ...parsed.query, filter });
    return sendJson(res, 200, toJson({ data: rows.map(spendToJson) }));
  }

  const kept = await querySpendNarrowed(deps.ledger, { ...parsed.query, filter }, narrowing);
  sendJson(res, 200, toJson({ data: kept.rows.map(spendToJson), total_groups: kept.totalGroups }));
}
