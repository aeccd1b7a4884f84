/**
 * The gateway's side of the bench: the config it runs with (one priced upstream, a SQLite
 * ledger in a temp folder, attribution from headers) and the check, after it has stopped, that
 * every request it served was counted, priced and written to the ledger.
 */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { picoToDecimal } from '../../src/money/money.js';
import { BENCH_MODEL } from './payloads.js';

/** The upstream's name in the gateway config, so its route is `/bench/v1/...`. */
export const GATEWAY_UPSTREAM = 'bench';

/**
 * The config sections every bench gateway shares: the upstream, attribution from headers and
 * the bench model's price. Ends with a newline.
 */
export function benchRoutingYaml(upstreamOrigin: string): string {
  return `upstreams:
  ${GATEWAY_UPSTREAM}: { format: openai, base_url: "${upstreamOrigin}", timeout: 30s }
identity: { require_credential: false }
attribution:
  org: [header:x-org-id, unattributed]
  team: [header:x-team-id, unattributed]
  user: [header:x-user-id, unattributed]
  endpoint: [header:x-endpoint, path]
  tags: { app: [header:x-app] }
pricing:
  models:
    ${BENCH_MODEL}: { input_per_mtok: 2.50, output_per_mtok: 10.00, cached_input_per_mtok: 1.25 }
`;
}

/** Writes the gateway's config into `dir` and returns its path. */
export function writeGatewayConfig(dir: string, upstreamOrigin: string): string {
  const file = join(dir, 'spendgate.yaml');
  const yaml = `# Written by bench/gateway.ts for one run.
listen: { host: 127.0.0.1, port: 0 }
storage: { ledger: "sqlite:${join(dir, 'ledger.db')}" }
${benchRoutingYaml(upstreamOrigin)}`;
  writeFileSync(file, yaml);
  return file;
}

/** What the ledger holds after the run. */
export type LedgerCheck = {
  rows: number;
  streamed: number;
  unpriced: number;
  notOk: number;
  notFromProvider: number;
  totalCostUsd: string;
  flags: string[];
};

/** Counts the ledger's rows by what matters for the bench (run once the gateway has stopped). */
export function checkLedger(dir: string): LedgerCheck {
  const db = new Database(join(dir, 'ledger.db'), { readonly: true });
  try {
    const row = db
      .prepare(
        `SELECT COUNT(*) AS rows, COALESCE(SUM(streamed), 0) AS streamed,
                COALESCE(SUM(cost_pico IS NULL), 0) AS unpriced,
                COALESCE(SUM(status <> 200), 0) AS notOk,
                COALESCE(SUM(usage_source <> 'provider'), 0) AS notFromProvider,
                COALESCE(SUM(cost_pico), 0) AS pico
         FROM requests`,
      )
      .safeIntegers(true)
      .get() as Record<string, bigint>;
    const flags = db
      .prepare(`SELECT DISTINCT flags FROM requests WHERE flags NOT IN ('', '[]') LIMIT 10`)
      .pluck()
      .all() as string[];
    return {
      rows: Number(row.rows),
      streamed: Number(row.streamed),
      unpriced: Number(row.unpriced),
      notOk: Number(row.notOk),
      notFromProvider: Number(row.notFromProvider),
      totalCostUsd: picoToDecimal(row.pico ?? 0n),
      flags,
    };
  } finally {
    db.close();
  }
}
