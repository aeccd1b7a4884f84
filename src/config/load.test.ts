import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STARTER_CONFIG } from '../cli/commands/init.js';
import { runValidate } from '../cli/commands/validate.js';
import { checkConfigText, loadConfigFile, loadConfigText } from './load.js';

const MINIMAL =
  'upstreams:\n  openai: { format: openai, base_url: https://api.openai.com, api_key_env: OPENAI_API_KEY }\n';

describe('config: validation', () => {
  it('reports every problem with its path and line in the file', () => {
    const text = [
      'listen: { port: "eighty" }',
      'upstreams:',
      '  openai: { format: openai, base_url: not-a-url, extra: 1 }',
      '  anthropic: { format: claude, base_url: https://api.anthropic.com }',
    ].join('\n');

    const { config, problems } = checkConfigText(text, {});

    expect(config).toBeNull();
    expect(problems.map((p) => p.path)).toEqual([
      'listen.port (line 1)',
      'upstreams.openai.base_url (line 3)',
      'upstreams.openai (line 3)',
      'upstreams.anthropic.format (line 4)',
    ]);
    expect(problems[2]?.message).toBe('unknown field(s): extra');
  });

  it('reports YAML syntax errors with their line', () => {
    const { problems } = checkConfigText('upstreams: [\n', {});

    expect(problems[0]?.path).toBe('line 2:1');
  });

  it('refuses a file without upstreams', () => {
    const { problems } = checkConfigText('listen: { port: 8080 }\n', {});

    expect(problems[0]?.path).toBe('upstreams');
  });

  it('throws one ConfigError listing every problem when loading', () => {
    expect(() => loadConfigText('upstreams: {}\nfoo: 1\n', 'x.yaml', {})).toThrow(ConfigError);
    try {
      loadConfigText('upstreams: {}\nfoo: 1\n', 'x.yaml', {});
    } catch (err) {
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });

  it('fills defaults and reads secrets from the environment only', () => {
    const config = loadConfigText(MINIMAL, 'x.yaml', { OPENAI_API_KEY: 'sk-test' });

    expect(config.listen).toEqual({
      host: '127.0.0.1',
      port: 8080,
      maxBodyBytes: 32 * 1024 * 1024,
    });
    expect(config.raw.storage.ledger).toBe('sqlite:./spendgate.db');
    const openai = config.upstreams.get('openai');
    expect(openai).toMatchObject({
      provider: 'openai',
      dialect: 'openai',
      apiKey: 'sk-test',
      timeoutMs: 600_000,
      basePath: '',
    });
    expect(config.requireCredential).toBe(true);
    expect(Object.isFrozen(config.raw)).toBe(true);
  });

  it('warns about unset key variables and alert channels that are not defined', () => {
    const { warnings } = checkConfigText(
      MINIMAL + 'anomaly: { scope: { org: "*" }, channels: [oncall] }\n',
      {},
    );

    expect(warnings).toEqual([
      {
        path: 'upstreams.openai.api_key_env (line 2)',
        message:
          'environment variable OPENAI_API_KEY is not set; requests to /openai get 502 until the gateway is restarted with it set',
      },
      {
        path: 'anomaly[0].channels (line 3)',
        message: 'channel "oncall" is not defined in channels:',
      },
    ]);
  });

  it('accepts the starter config that init writes', () => {
    const { problems } = checkConfigText(STARTER_CONFIG, {});

    expect(problems).toEqual([]);
  });

  it('derives the provider of OpenAI-compatible upstreams from their host', () => {
    const config = loadConfigText(
      'upstreams:\n  mistral: { format: openai, base_url: https://api.mistral.ai }\n  local: { format: openai, base_url: http://127.0.0.1:8000/v1 }\n',
      'x.yaml',
      {},
    );

    expect(config.upstreams.get('mistral')?.provider).toBe('mistral');
    expect(config.upstreams.get('local')).toMatchObject({ provider: 'local', basePath: '/v1' });
    expect(config.requireCredential).toBe(false);
  });
});

describe('config: every problem in one run', () => {
  it('makes spendgate validate list every mistake, cross-field ones included, in one style', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'spendgate-validate-')), 'spendgate.yaml');
    writeFileSync(
      file,
      [
        'admin:',
        '  tokens:',
        '    - { name: ops }',
        'upstreams:',
        '  openai: { format: openai, base_url: api.openai.com, api_key: sk-123 }',
        'budgets:',
        '  - name: org-daily',
        '    scope: { org: "*" }',
        '    limit_usd: 5',
        '    period: 2d',
        '    alerts: [{ at: 120, channels: [finance] }]',
        '  - name: org-daily',
        '    scope: { org: "*" }',
        '    limit_usd: 5',
        '    period: 1d',
        '    actions: [{ at: 100, do: reject }, { at: 80, do: warn }]',
        '',
      ].join('\n'),
    );
    const lines: string[] = [];

    const code = runValidate(file, { env: {}, out: (line) => lines.push(line) });

    expect(code).toBe(1);
    expect(lines).toEqual([
      'error   admin.tokens[0].token_env (line 3): required',
      'error   upstreams.openai.base_url (line 5): needs to start with http:// or https:// ' +
        '(e.g. https://api.openai.com)',
      'error   upstreams.openai.api_key (line 5): unknown field; secrets never go in this file: ' +
        'write api_key_env: <VARIABLE> and put the secret in that environment variable',
      'error   budgets[0].period (line 10): must be one of "5m", "1h", "1d", "7d", "30d", "month"',
      'error   budgets[0].alerts[0].at (line 11): a percentage of the limit: above 0 and at most 100',
      'error   budgets[1].actions[1].at (line 16): stages go lowest first: 80% comes after 100%',
      'error   budgets[1].name (line 12): duplicate name "org-daily"',
      `${file}: invalid (7 error(s))`,
    ]);
    expect(lines.join('\n')).not.toContain('sk-123');
  });

  it('says what a value of the wrong kind is, without repeating it', () => {
    const { problems } = checkConfigText(
      'listen: { port: "secret-8080", max_body_mb: 0 }\nupstreams:\n  openai: { format: openai, base_url: https://api.openai.com, connections: [1] }\n',
      {},
    );

    expect(problems).toEqual([
      { path: 'listen.port (line 1)', message: 'expected a number, got a string' },
      { path: 'listen.max_body_mb (line 1)', message: 'must be above 0' },
      { path: 'upstreams.openai.connections (line 3)', message: 'expected a number, got a list' },
    ]);
  });

  it('says there is no config file and how to write one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'spendgate-none-')), 'spendgate.yaml');
    const lines: string[] = [];

    expect(() => loadConfigFile(file, {})).toThrow(
      new ConfigError(file, [
        { path: '(file)', message: `no config file at ${file}; write one with \`spendgate init\`` },
      ]),
    );
    expect(runValidate(file, { env: {}, out: (line) => lines.push(line) })).toBe(1);
    expect(lines).toEqual([`error   no config file at ${file}; write one with \`spendgate init\``]);
  });
});

describe('config: what would stop the start is found by validate', () => {
  const upstreams = 'upstreams:\n  openai: { format: openai, base_url: https://api.openai.com }\n';

  function validate(text: string, env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'spendgate-validate-'));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const file = join(dir, 'spendgate.yaml');
    writeFileSync(file, text);
    const lines: string[] = [];
    const code = runValidate(file, { env, out: (line) => lines.push(line) });
    return { code, lines: lines.slice(0, -1), file };
  }

  it('refuses an anchor that has the shape of a date but names no day', () => {
    const { code, lines } = validate(
      `${upstreams}budgets:\n  - { name: b, scope: { org: "*" }, limit_usd: 1, period: 30d, anchor: 2026-13-45 }\n`,
    );

    expect(code).toBe(1);
    expect(lines).toEqual(['error   budgets[0].anchor (line 4): not a calendar date']);
  });

  it('refuses a ledger URL of a database it does not speak, quoting only the scheme', () => {
    const { code, lines } = validate(
      `storage: { ledger: "mysql://root:hunter2@db/x" }\n${upstreams}`,
    );

    expect(code).toBe(1);
    expect(lines).toEqual([
      'error   storage.ledger (line 1): "mysql:…" is not a ledger URL ' +
        '(write sqlite:./spendgate.db or postgres://user@host:5432/db)',
    ]);
  });

  it('reads the JWKS file, relative to the config file, and says why it cannot', () => {
    const jwt = (file: string) => `${upstreams}identity: { jwt: { jwks_file: ${file} } }\n`;
    const keys =
      '{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}';

    const missing = validate(jwt('./nope.json'));
    const empty = validate(jwt('./empty.json'), {}, { 'empty.json': '{"keys":[]}' });
    const good = validate(jwt('./jwks.json'), {}, { 'jwks.json': keys });

    expect(missing.code).toBe(1);
    expect(missing.lines).toEqual([
      `error   identity.jwt.jwks_file (line 3): cannot read a JWKS from ${join(missing.file, '..', 'nope.json')}: ` +
        `ENOENT: no such file or directory, open '${join(missing.file, '..', 'nope.json')}'`,
    ]);
    expect(empty.lines).toEqual([
      `error   identity.jwt.jwks_file (line 3): ${join(empty.file, '..', 'empty.json')} is not a JWKS: it needs a non-empty "keys" array`,
    ]);
    expect(good.code).toBe(0);
  });

  it('says what a setting of several shapes takes, or what is wrong inside the shape given', () => {
    const misspelt = validate(`${upstreams}pricing: { unknown_model: rejectt }\n`);
    const badRate = validate(`${upstreams}pricing: { unknown_model: { input_per_mtok: "x" } }\n`);
    const channel = validate(
      `${upstreams}channels:\n  c1: { type: pager, url: https://x.example }\n`,
    );

    expect(misspelt.lines).toEqual([
      'error   pricing.unknown_model (line 3): must be "reject" or a map, got a string',
    ]);
    expect(badRate.lines).toEqual([
      'error   pricing.unknown_model.input_per_mtok (line 3): expected a number, got a string',
      'error   pricing.unknown_model.output_per_mtok (line 3): required',
    ]);
    expect(channel.lines).toEqual([
      'error   channels.c1.type (line 4): must be one of "slack", "webhook", "email"',
    ]);
  });

  it('warns that an unset HS256 secret variable stops the start', () => {
    const text = `${upstreams}identity: { jwt: { hs256_secret_env: JWT_SECRET } }\n`;

    const unset = validate(text);
    const set = validate(text, { JWT_SECRET: 's3cret' });

    expect(unset.code).toBe(0);
    expect(unset.lines).toEqual([
      'warning identity.jwt.hs256_secret_env (line 3): environment variable JWT_SECRET is not set; ' +
        'the gateway will not start until it is set',
    ]);
    expect(set.lines).toEqual([]);
  });
});

describe('config: YAML values with colons', () => {
  it('hints to quote a URL that ends with a colon', () => {
    const text = `${MINIMAL}storage:\n  counters: redis://127.0.0.1:6379/0?prefix=spendgate-prod:\n`;

    const { config, problems } = checkConfigText(text, {});

    expect(config).toBeNull();
    expect(problems).toEqual([
      {
        path: 'line 4:13',
        message:
          "Nested mappings are not allowed in compact mappings at line 4, column 13; quote values that contain ': ' or end with ':'",
      },
    ]);
  });

  it('reads the same URL quoted', () => {
    const text = `${MINIMAL}storage:\n  counters: "redis://127.0.0.1:6379/0?prefix=spendgate-prod:"\n`;

    const { config, problems } = checkConfigText(text, {});

    expect(problems).toEqual([]);
    expect(config?.storage.counters).toBe('redis://127.0.0.1:6379/0?prefix=spendgate-prod:');
  });
});

describe('config: upstream names the gateway serves itself', () => {
  const upstreamLine = (name: string) =>
    `  ${name}: { format: openai, base_url: http://127.0.0.1:8000 }\n`;
  const withUpstream = (name: string) => MINIMAL + upstreamLine(name);

  it.each([
    ['api', '/api/v1'],
    ['metrics', '/metrics'],
    ['dashboard', '/dashboard'],
    ['livez', '/livez'],
    ['readyz', '/readyz'],
    ['v1', '/v1/decision, /v1/usage'],
  ])('refuses an upstream named %s, naming the path', (name, path) => {
    const { config, problems } = checkConfigText(withUpstream(name), {});

    expect(config).toBeNull();
    expect(problems).toEqual([
      {
        path: `upstreams.${name} (line 3)`,
        message:
          `"${name}" is a path the gateway serves itself (${path}): ` +
          'choose another upstream name',
      },
    ]);
  });

  it('accepts names that only look like them', () => {
    const names = ['dashboards', 'Dashboard', 'v2', 'api-proxy', 'constructor'];
    const config = loadConfigText(MINIMAL + names.map(upstreamLine).join(''), 'x.yaml', {});

    expect([...config.upstreams.keys()]).toEqual(['openai', ...names]);
  });

  it('says why a name is not a path segment', () => {
    const { problems } = checkConfigText(withUpstream('"my upstream"'), {});

    expect(problems).toEqual([
      {
        path: 'upstreams.my upstream (line 3)',
        message: 'a path segment (letters, digits, _ . -)',
      },
    ]);
  });

  it('makes spendgate validate print the error and exit 1', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'spendgate-validate-')), 'spendgate.yaml');
    writeFileSync(file, withUpstream('dashboard'));
    const lines: string[] = [];

    const code = runValidate(file, { env: {}, out: (line) => lines.push(line) });

    expect(code).toBe(1);
    expect(lines).toEqual([
      'error   upstreams.dashboard (line 3): "dashboard" is a path the gateway serves itself ' +
        '(/dashboard): choose another upstream name',
      `${file}: invalid (1 error(s))`,
    ]);
  });
});
