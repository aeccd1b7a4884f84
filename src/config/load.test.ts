import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STARTER_CONFIG } from '../cli/commands/init.js';
import { runValidate } from '../cli/commands/validate.js';
import { checkConfigText, loadConfigText } from './load.js';

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

    expect(warnings.map((w) => w.path)).toEqual([
      'upstreams.openai.api_key_env',
      'anomaly.0.channels',
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
