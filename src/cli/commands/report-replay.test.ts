import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../log/logger.js';
import { openSqliteLedger } from '../../ledger/sqlite.js';
import { ledgerRow } from '../../../test/support/rows.js';
import { runReplay } from './replay.js';
import { runReport } from './report.js';
import { UsageError } from '../args.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const HOUR = 3_600_000;
let dir: string;
let config: string;
const CONFIG =
  'storage: { ledger: sqlite:./ledger.db }\nupstreams:\n  openai: { format: openai, base_url: http://127.0.0.1:9 }\n';

/** A config file beside a fresh SQLite ledger holding `rows`; returns the config's path. */
async function ledgerWith(rows: Parameters<typeof ledgerRow>[]): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'spendgate-cli-')), 'spendgate.yaml');
  writeFileSync(file, CONFIG);
  const ledger = openSqliteLedger({
    path: join(dirname(file), 'ledger.db'),
    logger: silentLogger(),
  });
  for (const args of rows) ledger.append(ledgerRow(...args));
  await ledger.close();
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spendgate-cli-'));
  config = join(dir, 'spendgate.yaml');
  writeFileSync(
    config,
    'storage: { ledger: sqlite:./ledger.db }\nupstreams:\n  openai: { format: openai, base_url: http://127.0.0.1:9 }\n',
  );
  const ledger = openSqliteLedger({ path: join(dir, 'ledger.db'), logger: silentLogger() });
  // acme: ten $1 requests an hour apart today; beta: one $0.25 request; one old row, one rejection.
  for (let i = 0; i < 10; i++)
    ledger.append(
      ledgerRow(`a${i}`, NOW - (10 - i) * HOUR, { org: 'acme', costPico: 1_000_000_000_000n }),
    );
  ledger.append(ledgerRow('b0', NOW - HOUR, { org: 'beta', costPico: 250_000_000_000n }));
  ledger.append(
    ledgerRow('old', NOW - 30 * 24 * HOUR, { org: 'acme', costPico: 5_000_000_000_000n }),
  );
  ledger.append(
    ledgerRow('rej', NOW - HOUR, {
      org: 'beta',
      decision: 'reject',
      reason: 'budget_exceeded',
      costPico: 0n,
    }),
  );
  await ledger.close();
});

/** Runs `spendgate report --since 7d` and returns its exit code and the lines it printed. */
async function report(file: string, by: string, top: number) {
  const lines: string[] = [];
  const code = await runReport(file, {
    by,
    since: '7d',
    top,
    nowMs: NOW,
    out: (l) => lines.push(l),
  });
  return { code, lines: lines.join('\n').split('\n') };
}

describe('spendgate report', () => {
  it('prints top spenders since a duration, highest first, with exact totals', async () => {
    const lines: string[] = [];

    const code = await runReport(config, {
      by: 'org',
      since: '7d',
      top: 20,
      nowMs: NOW,
      out: (l) => lines.push(l),
    });

    expect(code).toBe(0);
    const table = lines.join('\n').split('\n');
    expect(table[3]).toMatch(/^acme\s+10\.00\s+97\.6%\s+10\s+1000\s+500$/);
    expect(table[4]).toMatch(/^beta\s+0\.25\s+2\.4%\s+2\s+200\s+100$/);
    expect(lines.at(-1)).toBe('total 10.25 USD over 2 org value(s)');
  });

  it('prints amounts below a cent exactly, with one number of decimals that add up', async () => {
    const small = await ledgerWith([
      ['s0', NOW - HOUR, { org: 'acme', costPico: 3_400_000_000n }], // $0.0034
      ['s1', NOW - HOUR, { org: 'beta', costPico: 1_234_500_000n }], // $0.0012345
      ['s2', NOW - HOUR, { org: 'gamma', costPico: 1_200_000_000n }], // $0.0012
    ]);
    const { lines: table } = await report(small, 'org', 2);

    expect(table[1]).toMatch(/^org\s+cost \(USD\)\s+share/);
    expect(table[3]).toMatch(/^acme\s+0\.0034000\s+58\.3%/);
    expect(table[4]).toMatch(/^beta\s+0\.0012345\s+21\.2%/);
    // Two rows shown (--top 2), then the total of all three.
    expect(table).toHaveLength(6);
    expect(table.at(-1)).toBe('total 0.0058345 USD over 3 org value(s), the top 2 shown');
  });

  it('names a request refused before its model was known (none)', async () => {
    const file = await ledgerWith([
      ['m0', NOW - HOUR, { model: 'gpt-4o', costPico: 1_000_000_000_000n }],
      [
        'm1',
        NOW - HOUR,
        { model: '', decision: 'reject', reason: 'invalid_request', costPico: 0n },
      ],
    ]);
    const { lines: table } = await report(file, 'model', 5);

    expect(table[3]).toMatch(/^gpt-4o\s+1\.00\s+100\.0%\s+1\s/);
    expect(table[4]).toMatch(/^\(none\)\s+0\.00\s+0\.0%\s+1\s/);
  });

  it('counts unpriced requests apart and says their cost is not in the total', async () => {
    const file = await ledgerWith([
      ['u0', NOW - HOUR, { model: 'gpt-4o', costPico: 1_000_000_000_000n }],
      ['u1', NOW - HOUR, { model: 'my-llama', costPico: null, flags: ['unpriced_model'] }],
      ['u2', NOW - HOUR, { model: 'my-llama', costPico: null, flags: ['unpriced_model'] }],
      // Unmetered (a files upload): no cost, but not a model without a price.
      ['u3', NOW - HOUR, { model: '', costPico: null, flags: ['unmetered'] }],
    ]);
    const { lines: table } = await report(file, 'model', 5);

    expect(table[1]).toMatch(/^model\s+cost \(USD\)\s+share\s+requests\s+.*\s+unpriced$/);
    expect(table[3]).toMatch(/^gpt-4o\s+1\.00\s+100\.0%\s+1\s+100\s+50\s+0$/);
    // The two groups that cost nothing, in either order.
    expect([table[4], table[5]].sort()).toEqual([
      expect.stringMatching(/^\(none\)\s+0\.00\s+0\.0%\s+1\s+100\s+50\s+0$/),
      expect.stringMatching(/^my-llama\s+0\.00\s+0\.0%\s+2\s+200\s+100\s+2$/),
    ]);
    expect(table.at(-2)).toBe('total 1.00 USD over 3 model value(s)');
    expect(table.at(-1)).toBe(
      '2 request(s) had no price and are not in the costs above: add their models under pricing.models, or set pricing.unknown_model',
    );
  });

  it('refuses an unknown dimension as a usage mistake', async () => {
    const lines: string[] = [];
    const run = runReport(config, {
      by: 'colour',
      since: '7d',
      top: 5,
      nowMs: NOW,
      out: (l) => lines.push(l),
    });

    await expect(run).rejects.toThrow(UsageError);
    expect(lines).toEqual([]);
  });
});

describe('spendgate replay', () => {
  it('counts what another policy would have warned and rejected, and the spend it saves', async () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `upstreams:\n  openai: { format: openai, base_url: http://127.0.0.1:9 }\nbudgets:\n  - name: org-daily\n    scope: { org: "*" }\n    limit_usd: 5\n    period: 1d\n    actions: [{ at: 60, do: warn }, { at: 100, do: reject }]\n`,
    );
    const lines: string[] = [];

    const code = await runReplay(config, {
      policy,
      since: '7d',
      nowMs: NOW,
      out: (l) => lines.push(l),
    });

    // acme's requests 1-2 pass, 3-5 warn (60%..100%), 6-10 are rejected ($5 saved); beta passes.
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/served\s+6\s+5\.25/);
    expect(text).toMatch(/of which warned\s+3/);
    expect(text).toMatch(/rejected\s+5\s+5\n/);
    expect(text).toMatch(/budget_exceeded\s+5\s+5/);
    expect(lines.at(-1)).toBe('spend it would have saved: 5 USD');
  });
});
