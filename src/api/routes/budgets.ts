import { numberToPlainDecimal } from '../../money/money.js';
import { sendJson, withinScope, type AdminCall } from '../http.js';
import { RawJson, toJson } from '../json.js';

/** `GET /budgets`: every live budget instance the token may see, with its projection. */
export async function listBudgets({ deps, res, token }: AdminCall): Promise<void> {
  const view = await deps.enforcer.budgetsView(deps.clock.now());
  const data = view
    .filter((b) => withinScope(b.scope, token))
    .map((b) => ({
      ...b,
      // Plain decimals, never `1e-7`: the same rule as every other cost the API prints.
      spent_usd: new RawJson(numberToPlainDecimal(b.spent_usd)),
      reserved_usd: new RawJson(numberToPlainDecimal(b.reserved_usd)),
      limit_usd: new RawJson(numberToPlainDecimal(b.limit_usd)),
    }));
  sendJson(res, 200, toJson({ data }));
}
