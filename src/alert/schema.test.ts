import { describe, expect, it } from 'vitest';
import { alertingSchema, channelsSchema, resolveChannels } from './schema.js';

const SPEC_CHANNELS = {
  finance: { type: 'slack', webhook_url_env: 'SLACK_WEBHOOK_URL' },
  oncall: { type: 'webhook', url: 'https://hooks.example/spend', secret_env: 'WEBHOOK_SECRET' },
  cfo: {
    type: 'email',
    smtp_url_env: 'SMTP_URL',
    from: 'spend@example.com',
    to: ['cfo@example.com'],
  },
};

describe('alert config: channels section', () => {
  it('accepts the three channels of the spec example', () => {
    const parsed = channelsSchema.parse(SPEC_CHANNELS);

    expect(parsed.oncall).toEqual({
      type: 'webhook',
      url: 'https://hooks.example/spend',
      secret_env: 'WEBHOOK_SECRET',
    });
  });

  it('rejects an unknown field, a bad url, a secret as env name and a bad address', () => {
    const result = channelsSchema.safeParse({
      a: { type: 'slack', webhook_url_env: 'SLACK', channel: '#x' },
      b: { type: 'webhook', url: 'ftp://hooks.example' },
      c: { type: 'slack', webhook_url_env: 'https://hooks.slack.com/services/T/B/X' },
      d: { type: 'email', smtp_url_env: 'SMTP', from: 'not-an-address', to: [] },
    });

    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['a', 'b.url', 'c.webhook_url_env', 'd.from', 'd.to']);
  });
});

describe('alert config: alerting section', () => {
  it('fills every default when the section is absent', () => {
    expect(alertingSchema.parse(undefined)).toEqual({
      cooldown: 900_000,
      queue_size: 1000,
      max_attempts: 6,
      backoff_ms: [1000, 60_000],
      admin_channels: [],
    });
  });

  it('reads durations and rejects a backoff whose base exceeds its max', () => {
    expect(alertingSchema.parse({ cooldown: '1h' }).cooldown).toBe(3_600_000);
    expect(alertingSchema.safeParse({ backoff_ms: [5000, 100] }).success).toBe(false);
  });
});

describe('alert config: secrets from the environment', () => {
  it('reads each secret from the env record given', () => {
    const channels = channelsSchema.parse(SPEC_CHANNELS);
    const env = {
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X',
      WEBHOOK_SECRET: 's3cret',
      SMTP_URL: 'smtp://u:p@127.0.0.1:2525',
    };

    const { resolved, problems } = resolveChannels(channels, env);

    expect(problems).toEqual([]);
    expect(resolved).toEqual([
      { type: 'slack', name: 'finance', webhookUrl: 'https://hooks.slack.com/services/T/B/X' },
      {
        type: 'webhook',
        name: 'oncall',
        url: 'https://hooks.example/spend',
        secret: 's3cret',
        headers: {},
      },
      {
        type: 'email',
        name: 'cfo',
        smtpUrl: 'smtp://u:p@127.0.0.1:2525',
        from: 'spend@example.com',
        to: ['cfo@example.com'],
      },
    ]);
  });

  it('names the missing or unusable variable without quoting its value', () => {
    const channels = channelsSchema.parse(SPEC_CHANNELS);

    const { problems } = resolveChannels(channels, { SMTP_URL: 'http://p4ssword@mail' });

    expect(problems).toEqual([
      { path: 'channels.finance', message: 'SLACK_WEBHOOK_URL is unset or not an https URL' },
      { path: 'channels.oncall', message: 'WEBHOOK_SECRET is unset or empty' },
      { path: 'channels.cfo', message: 'SMTP_URL is unset or not an smtp:// URL' },
    ]);
  });
});
