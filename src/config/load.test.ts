import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { STARTER_CONFIG } from '../cli/commands/init.js';
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
