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
          `${(b.utilization * 100).toFixed(1)}%`,
          String(b.spent_usd),
          String(b.limit_usd),
          b.stage,
          b.resets_at,
          b.projected_exhaustion ?? '-',
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
