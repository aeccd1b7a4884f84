import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../src/cli/commands/export.js';
import { main } from '../../src/cli/main.js';
import { runReplay } from '../../src/cli/commands/replay.js';
import { runReport } from '../../src/cli/commands/report.js';
import { PostgresLedger } from '../../src/ledger/postgres/ledger.js';
import { silentLogger } from '../../src/log/logger.js';
import { createTestDatabase, freePort, type TestDatabase } from '../support/postgres.js';
import { ledgerRow } from '../support/rows.js';

// The CLI commands that read the ledger, on a PostgreSQL ledger: the same answers as on SQLite
// (src/cli/commands/report-replay.test.ts has the same rows).

const NOW = Date.parse('2026-12-04T12:00:00Z');
const HOUR = 3_600_000;
const UPSTREAMS = 'upstreams:\n  openai: { format: openai, base_url: http://127.0.0.1:9 }\n';
let database: TestDatabase;
let dir: string;
let config: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'spendgate-cli-pg-'));
  config = join(dir, 'spendgate.yaml');
  writeFileSync(config, `storage: { ledger: "${database.url}" }\n${UPSTREAMS}`);
  const ledger = new PostgresLedger({ url: database.url, logger: silentLogger(), spoolDir: null });
  for (let i = 0; i < 10; i++)
    ledger.append(
      ledgerRow(`a${i}`, NOW - (10 - i) * HOUR, { org: 'acme', costPico: 1_000_000_000_000n }),
    );
  ledger.append(ledgerRow('b0', NOW - HOUR, { org: 'beta', costPico: 250_000_000_000n }));
  ledger.append(
    ledgerRow('rej', NOW - HOUR, {
      org: 'beta',
      decision: 'reject',
      reason: 'budget_exceeded',
      costPico: 0n,
    }),
  );
  await ledger.flush();
  await ledger.close();
});

afterAll(async () => {
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('CLI on a PostgreSQL ledger', () => {
  it('reports top spenders with exact totals', async () => {
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

  it('replays past rows through another policy', async () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `${UPSTREAMS}budgets:\n  - name: org-daily\n    scope: { org: "*" }\n    limit_usd: 5\n    period: 1d\n`,
    );
    const lines: string[] = [];

    const code = await runReplay(config, {
      policy,
      since: '7d',
      nowMs: NOW,
      out: (l) => lines.push(l),
    });

    expect(code).toBe(0);
    expect(lines.at(-1)).toBe('spend it would have saved: 5 USD');
  });

  it('exports every row as NDJSON, oldest first', async () => {
    let text = '';
    const stdout = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    });

    const code = await runExport(
      config,
      { format: 'ndjson', dims: { org: 'beta' }, tags: {}, bucket: 'hour' },
      { stdout, out: () => undefined },
    );

    expect(code).toBe(0);
    const rows = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => [r.request_id, r.cost_usd])).toEqual([
      ['b0', 0.25],
      ['rej', 0],
    ]);
  });

  it('fails with a clear message, and no URL, when the database cannot be reached', async () => {
    const port = await freePort();
    const down = join(dir, 'down.yaml');
    writeFileSync(
      down,
      `storage: { ledger: "postgres://sg:hunter2@127.0.0.1:${port}/x" }\n${UPSTREAMS}`,
    );

    const failure = await runReport(down, {
      by: 'org',
      since: '7d',
      top: 5,
      nowMs: NOW,
      out: () => undefined,
    }).catch((err: unknown) => err as Error);

    expect((failure as Error).message).toBe(
      'the ledger database (PostgreSQL) cannot be reached; try again shortly',
    );
  });

  it('says a misnamed database does not exist, where, and what to do, exit 1', async () => {
    const missing = `${database.name}_missing`;
    const misnamed = join(dir, 'misnamed.yaml');
    writeFileSync(
      misnamed,
      `storage: { ledger: "${database.url.replace(database.name, missing)}" }\n${UPSTREAMS}`,
    );
    const out: string[] = [];
    const err: string[] = [];

    const code = await main(['report', '--config', misnamed], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });

    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([
      `error: storage.ledger: PostgreSQL database "${missing}" does not exist on ` +
        '127.0.0.1:5432 (create it, or fix the URL)',
    ]);
  });
});
