import { formatTable } from '../ledger-access.js';
import { getJson, type Remote } from './remote.js';

type Budget = {
  name: string;
  scope: Record<string, string>;
  utilization: number;
  stage: string;
  spent_usd: number;
  limit_usd: number;
  resets_at: string;
  projected_exhaustion: string | null;
};
type Breaker = { scope: Record<string, string>; phase: string; retry_after_seconds: number };

/** Utilization to a tenth of a percent, rounded down: 99.987% is not shown as 100.0%. */
export function usedPercent(utilization: number): string {
  return `${(Math.floor(utilization * 1000 + 1e-9) / 10).toFixed(1)}%`;
}

/** When the budget runs out at its current rate; `reached` once that moment has passed. */
export function runsOut(projected: string | null, nowMs: number): string {
  if (projected === null) return '-';
  return Date.parse(projected) <= nowMs ? 'reached' : projected;
}

/** Budgets at or above this utilization are listed as near their limit. */
const NEAR_LIMIT = 0.8;

/** `spendgate status`: health, config version, budgets near their limit, open breakers. */
export async function runStatus(remote: Remote, out: (line: string) => void): Promise<number> {
  const ready = (await getJson(remote, '/readyz')) as { status: string; config_version?: string };
  out(`gateway ${remote.url}: ${ready.status}, config ${ready.config_version ?? 'unknown'}`);
  if (!remote.token) {
    out('(set SPENDGATE_ADMIN_TOKEN or --token-env to see budgets and breakers)');
    return 0;
  }

  const budgets = ((await getJson(remote, '/api/v1/budgets')) as { data: Budget[] }).data;
  const near = budgets
    .filter((b) => b.utilization >= NEAR_LIMIT)
    .sort((a, b) => b.utilization - a.utilization);
  out(`${budgets.length} budget instance(s), ${near.length} at or above ${NEAR_LIMIT * 100}%`);
  if (near.length > 0) {
    const scope = (s: Record<string, string>): string =>
      Object.entries(s)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '(all)';
    out(
      formatTable(
        ['budget', 'scope', 'used', 'spent', 'limit', 'stage', 'resets', 'runs out'],
        near.map((b) => [
          b.name,
          scope(b.scope),
          usedPercent(b.utilization),
          String(b.spent_usd),
          String(b.limit_usd),
          b.stage,
          b.resets_at,
          runsOut(b.projected_exhaustion, Date.now()),
        ]),
        new Set([2, 3, 4]),
      ),
    );
  }
  const breakers = ((await getJson(remote, '/api/v1/circuit-breakers')) as { data: Breaker[] })
    .data;
  out(`${breakers.length} circuit breaker(s) open or half open`);
  for (const b of breakers) {
    out(
      `  ${Object.entries(b.scope)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}: ${b.phase}, ${b.retry_after_seconds}s left`,
    );
  }
  return 0;
}
