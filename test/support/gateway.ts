import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../src/config/load.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/server.js';
import type { SqliteLedger } from '../../src/ledger/sqlite.js';
import type { LedgerRow } from '../../src/ledger/row.js';
import { afterAll, beforeAll } from 'vitest';
import { startMockUpstream, type MockUpstream } from './mock-upstream.js';

export type TestGateway = Gateway & { url: string; dir: string; rows(): Promise<LedgerRow[]> };

/** Starts a gateway on 127.0.0.1 from YAML text, with its ledger in a fresh temp folder. */
export async function startGateway(
  yaml: string,
  opts: GatewayOptions & { files?: Record<string, string> } = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-test-'));
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text);
  const file = join(dir, 'spendgate.yaml');
  writeFileSync(file, yaml);
  const config = loadConfigText(yaml, file, opts.env ?? {});
  const gateway = createGateway(config, opts);
  const address = await gateway.listen(0, '127.0.0.1');
  return Object.assign(gateway, {
    url: `http://127.0.0.1:${address.port}`,
    dir,
    async rows() {
      await gateway.deps.ledger.flush();
      return (await gateway.deps.ledger.queryRequests({}, 1000)).rows.reverse();
    },
  });
}

/** The SQLite handle behind a test gateway's ledger, for direct checks. */
export function sqliteOf(gateway: Gateway): SqliteLedger {
  return gateway.deps.ledger as SqliteLedger;
}

/** A test file's mock upstream and the gateway in front of it, set once both have started. */
export type GatewayOverMock = { upstream: MockUpstream; gateway: TestGateway };

/**
 * Starts a mock upstream and a gateway in front of it before a file's tests, and closes both
 * after them. `yaml` is given the upstream's URL and returns the gateway's config.
 */
export function gatewayOverMock(yaml: (upstreamUrl: string) => string): GatewayOverMock {
  const env = {} as GatewayOverMock;
  beforeAll(async () => {
    env.upstream = await startMockUpstream();
    env.gateway = await startGateway(yaml(env.upstream.url));
  });
  afterAll(async () => {
    await env.gateway?.close();
    await env.upstream?.close();
  });
  return env;
}

/**
 * The config most tests start from: no credential needed, one `openai` upstream at `url`, and
 * gpt-4o priced at $2.50 in and $10 out per million tokens. Ends with a newline, so a test's
 * own sections (budgets, attribution) follow it.
 */
export function openAiGatewayYaml(url: string): string {
  return `identity: { require_credential: false }
upstreams:
  openai: { format: openai, base_url: ${url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
`;
}
