import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/identity/keys.js';
import { post } from '../support/http.js';
import { createTestDatabase } from '../support/postgres.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// The published binary, run as users run it: `node bin/spendgate.js <command>` on the build.
const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/spendgate.js');
const PROVIDER_KEY = 'sk-provider-e2e-0123456789';
const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: tmpdir() };

const GOOD = `
upstreams:
  openai: { format: openai, base_url: https://api.openai.com, api_key_env: OPENAI_API_KEY }
`;
const BAD = `
listen: { port: eighty }
upstreams:
  openai: { format: openai, base_url: not-a-url }
`;

let dir: string;
let upstream: MockUpstream;
const children: ChildProcess[] = [];

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    if (build.status !== 0) throw new Error(`build failed:\n${String(build.stdout)}`);
  }
  dir = mkdtempSync(join(tmpdir(), 'spendgate-e2e-'));
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await upstream?.close();
});

/** Runs one short command of the binary to completion. */
function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { ...BASE_ENV, ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return {
    code: result.status,
    out: result.stdout + result.stderr,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

describe('spendgate help and usage errors', () => {
  it('serve --help prints its usage on stdout and exits 0 without starting', () => {
    const { code, stdout, stderr } = run(['serve', '--help']);

    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe(
      'usage: spendgate serve [--port N] [--config spendgate.yaml]',
    );
    expect(stdout).not.toContain('gateway.started');
    expect(stderr).toBe('');
  });

  it('an unknown command goes to stderr with the command list, exit 2', () => {
    const { code, stdout, stderr } = run(['bogus']);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n').slice(0, 4)).toEqual([
      'error: unknown command "bogus"',
      'usage: spendgate <command> [options] [--config spendgate.yaml]',
      '',
      'commands:',
    ]);
  });

  it('keys --help prints the keys usage, exit 0', () => {
    const { code, stdout } = run(['keys', '--help']);

    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe(
      'usage: spendgate keys create [--org O] [--team T] [--user U] [--tag name=value ...]',
    );
  });
});

describe('spendgate validate', () => {
  it('accepts a good file with exit code 0', () => {
    writeFileSync(join(dir, 'good.yaml'), GOOD);

    const { code, out } = run(['validate', 'good.yaml'], { OPENAI_API_KEY: PROVIDER_KEY });

    expect(code).toBe(0);
    expect(out).toContain('valid');
  });

  it('rejects a bad file with exit code 1, naming the path of every error', () => {
    writeFileSync(join(dir, 'bad.yaml'), BAD);

    const { code, out } = run(['validate', 'bad.yaml']);

    expect(code).toBe(1);
    expect(out).toContain('upstreams.openai.base_url');
    expect(out).toContain('listen.port');
  });
});

describe('spendgate init', () => {
  it('writes a starter config that validates', () => {
    const file = join(dir, 'starter.yaml');

    const init = run(['init', '--config', file]);
    const check = run(['validate', file]);

    expect(init.code).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(check.code).toBe(0);
  });
});

describe('spendgate price', () => {
  it('prints the cost of a cached gpt-4o usage from the catalogue', () => {
    const usage = ['--input', '12000', '--cached', '10240', '--output', '800'];

    const { code, out } = run(['price', 'gpt-4o', ...usage]);

    expect(code).toBe(0);
    // 1,760 × $2.50/M + 10,240 × $1.25/M + 800 × $10/M (case 1 at the catalogue's prices)
    expect(out).toMatch(/cost\s+0\.0252 USD/);
  });
});

describe('spendgate serve on a PostgreSQL database that does not exist', () => {
  it('logs one JSON error line naming the database, exits 1 and leaves no spool lock', async () => {
    // A real database, for a user name the shared server knows; the one named is another.
    const database = await createTestDatabase();
    await database.drop();
    const missing = `${database.name}_missing`;
    writeFileSync(
      join(dir, 'misnamed.yaml'),
      `
listen: { host: 127.0.0.1, port: 0 }
storage: { ledger: "${database.url.replace(database.name, missing)}", spool_dir: ./misnamed-spool }
upstreams:
  openai: { format: openai, base_url: https://api.openai.com }
`,
    );
    const message =
      `storage.ledger: PostgreSQL database "${missing}" does not exist on 127.0.0.1:5432 ` +
      '(create it, or fix the URL)';

    const serve = run(['serve', '--config', 'misnamed.yaml']);
    const report = run(['report', '--config', 'misnamed.yaml']);

    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe('');
    const lines = serve.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.level === 'error').map((l) => [l.event, l.err])).toEqual([
      ['gateway.start_failed', message],
    ]);
    expect(existsSync(join(dir, 'misnamed-spool', 'spool.lock'))).toBe(false);
    expect(report.code).toBe(1);
    expect(report.stderr).toBe(`error: ${message}\n`);
  });
});

describe('spendgate serve', () => {
  it('serves a request, exits 0 on SIGTERM with the row in sqlite, and logs no key', async () => {
    upstream = await startMockUpstream();
    upstream.reply('/v1/chat/completions', {
      kind: 'json',
      body: chatCompletion('gpt-4o-mini', 'OK', chatUsage(10, 2)),
    });
    const port = await freePort();
    const { key } = createKey(join(dir, 'keys.yaml'), { org: 'acme', team: 'ops', user: 'eve' });
    writeFileSync(
      join(dir, 'serve.yaml'),
      `
listen: { host: 127.0.0.1, port: ${port} }
storage: { ledger: sqlite:./ledger.db }
upstreams:
  openai: { format: openai, base_url: ${upstream.url}, api_key_env: OPENAI_API_KEY }
identity:
  api_keys: { file: ./keys.yaml }
pricing:
  models:
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
`,
    );
    const child = spawn(process.execPath, [BIN, 'serve', '--config', join(dir, 'serve.yaml')], {
      cwd: dir,
      env: { ...BASE_ENV, OPENAI_API_KEY: PROVIDER_KEY },
    });
    children.push(child);
    let logs = '';
    child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    await until(
      () => logs.includes('gateway.started'),
      () => logs,
    );

    const res = await post(
      `http://127.0.0.1:${port}/openai/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say OK' }] },
      { authorization: `Bearer ${key}` },
    );
    child.kill('SIGTERM');
    const code = await exited;

    expect(res.status).toBe(200);
    expect(res.headers.get('x-spendgate-cost-usd')).toBe('0.0000027');
    expect(code).toBe(0);
    expect(upstream.received.at(-1)?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    const db = new Database(join(dir, 'ledger.db'), { readonly: true });
    const row = db
      .prepare('SELECT * FROM requests WHERE request_id = ?')
      .get(res.headers.get('x-spendgate-request-id'));
    db.close();
    // 10 × $0.15/M + 2 × $0.60/M = $0.0000027 = 2,700,000 pico-dollars
    expect(row).toMatchObject({
      org: 'acme',
      team: 'ops',
      user: 'eve',
      model: 'gpt-4o-mini',
      input_tokens: 10,
      output_tokens: 2,
      cost_pico: 2_700_000,
      usage_source: 'provider',
    });
    const lines = logs.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes(PROVIDER_KEY) || line.includes(key))).toEqual([]);
    expect(readFileSync(join(dir, 'keys.yaml'), 'utf8')).not.toContain(key);
  });
});

async function until(check: () => boolean, output: () => string, timeoutMs = 8_000) {
  const stop = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > stop) throw new Error(`timed out; output so far:\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => done(port));
    });
  });
}
