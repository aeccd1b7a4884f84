import type { BudgetView } from '../../engine/engine.js';
import { numberToPlainDecimal } from '../../money/money.js';
import { sendJson, sendJsonError, withinScope, type AdminCall } from '../http.js';
import { RawJson, toJson } from '../json.js';

/** The largest `limit` of `GET /budgets`, as for `GET /spend`. */
export const MAX_BUDGETS = 1000;

/** `limit` and `q` of `GET /budgets`: keep the most used instances, or those that match a text. */
export type BudgetNarrowing = { limit?: number; q?: string };

/** Reads `limit` and `q`, or the message of the 400 they deserve. */
export function parseBudgetNarrowing(
  params: URLSearchParams,
): { narrowing: BudgetNarrowing } | { error: string } {
  const limitText = params.get('limit');
  const q = params.get('q');
  const narrowing: BudgetNarrowing = {};
  if (limitText !== null) {
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_BUDGETS) {
      return { error: `limit must be a whole number from 1 to ${MAX_BUDGETS}` };
    }
    narrowing.limit = limit;
  }
  if (q !== null && q !== '') narrowing.q = q;
  return { narrowing };
}

/** An instance's scope as one text, `org=acme,team=search`: the last tie-breaker. */
function scopeText(scope: Record<string, string>): string {
  return Object.entries(scope)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * Highest utilization first, then the most spent, then by name and scope: a total order, so a
 * `limit` keeps the same instances on every call while their figures do not change.
 */
export function compareBudgets(a: BudgetView, b: BudgetView): number {
  if (a.utilization !== b.utilization) return b.utilization - a.utilization;
  if (a.spent_usd !== b.spent_usd) return b.spent_usd - a.spent_usd;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const sa = scopeText(a.scope);
  const sb = scopeText(b.scope);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/**
 * Keeps the instances whose name or a scope value contains `q` (any case) and, of those, the
 * `limit` most used; `total` is how many matched before the limit.
 */
export function narrowBudgets(
  view: readonly BudgetView[],
  narrowing: BudgetNarrowing,
): { kept: BudgetView[]; total: number } {
  const needle = narrowing.q?.toLowerCase();
  const matching =
    needle === undefined
      ? [...view]
      : view.filter(
          (b) =>
            b.name.toLowerCase().includes(needle) ||
            Object.values(b.scope).some((v) => v.toLowerCase().includes(needle)),
        );
  matching.sort(compareBudgets);
  const kept = narrowing.limit === undefined ? matching : matching.slice(0, narrowing.limit);
  return { kept, total: matching.length };
}

/**
 * `GET /budgets`: every live budget instance the token may see, with its projection, most used
 * first. `limit` and `q` narrow the list; the answer then also has `total`.
 */
export async function listBudgets({ deps, res, url, token }: AdminCall): Promise<void> {
  const parsed = parseBudgetNarrowing(url.searchParams);
  if ('error' in parsed) return sendJsonError(res, 400, 'invalid_request', parsed.error);
  const { narrowing } = parsed;
  const narrows = narrowing.limit !== undefined || narrowing.q !== undefined;

  const view = await deps.enforcer.budgetsView(deps.clock.now());
  // Confined to the token's scope before anything is counted, so `total` reveals nothing else.
  const visible = view.filter((b) => withinScope(b.scope, token));
  const { kept, total } = narrowBudgets(visible, narrowing);

  const data = kept.map((b) => ({
    ...b,
    // Plain decimals, never `1e-7`: the same rule as every other cost the API prints.
    spent_usd: new RawJson(numberToPlainDecimal(b.spent_usd)),
    reserved_usd: new RawJson(numberToPlainDecimal(b.reserved_usd)),
    limit_usd: new RawJson(numberToPlainDecimal(b.limit_usd)),
  }));
  sendJson(res, 200, toJson({ data, total: narrows ? total : undefined }));
}
