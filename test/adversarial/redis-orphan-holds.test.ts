import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_ENV, ADMIN_YAML, budgetsOf } from '../support/budgets.js';
import { decide } from '../support/decision.js';
import { startGateway } from '../support/gateway.js';
import { deleteUnder, redisClient, uniquePrefix } from '../support/redis.js';

// With Redis counters a reservation lives in the instance's `ru`/`rp`, which outlive the
// process: without leases a crash with decisions waiting kept them held until the key expired an
// hour after the period, shrinking a monthly budget for the rest of the month. Each gateway now
// renews a lease and registers its holds under it; once the lease lapses, any gateway's sweep
// gives them back (`src/store/redis-lease.ts`). A 1.5 s lease keeps this test short.
const CHILD = join(import.meta.dirname, 'children', 'gateway.ts');
const prefix = uniquePrefix('orphans');
const redis = redisClient();

afterAll(async () => {
  await deleteUnder(redis, prefix);
  redis.disconnect();
});

const yaml = `
upstreams:
  openai: { format: openai, base_url: "http://127.0.0.1:9" }
identity: { require_credential: false }
${ADMIN_YAML}
storage: { counters: "redis://127.0.0.1:6379/0?prefix=${prefix}&lease_ms=1500" }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: team-monthly, scope: { team: "*" }, limit_usd: 1, period: month }
`;

async function startChild(file: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file], {
    env: { ...process.env, ...ADMIN_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the gateway did not start')), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      const m = /listening (\S+)/.exec(chunk.toString());
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { url, kill: async () => (child.kill('SIGKILL'), await exited) };
}

describe('redis counters: a gateway that dies with decisions waiting', () => {
  it('gives their holds back to the budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spendgate-orphans-'));
    const file = join(dir, 'spendgate.yaml');
    writeFileSync(file, yaml);
    const child = await startChild(file);
    // 40 decisions of $0.0125 each wait for their usage: $0.50 of the $1 held.
    for (let i = 0; i < 40; i++) {
      const answer = await decide(child.url, '/openai/v1/chat/completions', {
        headers: {
          'x-team-id': 'crashy',
          'x-spendgate-model': 'gpt-4o',
          'x-spendgate-estimate-tokens': '1000',
          'x-spendgate-max-output-tokens': '1000',
        },
      });
      expect(answer.status).toBe(200);
    }
    const before = (await budgetsOf(child.url)).data.find((b) => b.scope.team === 'crashy');
    expect(before?.reserved_usd).toBe(0.5);
    await child.kill();

    const survivor = await startGateway(yaml, { env: ADMIN_ENV });
    try {
      await expect
        .poll(
          async () =>
            (await budgetsOf(survivor.url)).data.find((b) => b.scope.team === 'crashy')
              ?.reserved_usd,
          { timeout: 5_000 },
        )
        .toBe(0);
    } finally {
      await survivor.close();
    }
  }, 30_000);
});
