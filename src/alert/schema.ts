/**
 * The `channels:` and `alerting:` sections of the config file. Channel secrets are named by
 * environment variable only, so a config file can be committed; `resolveChannels` reads them from
 * an env record passed in, never from `process.env`.
 */
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must name an environment variable, not hold a secret');

// RFC 9110 token characters: a header name outside them would make undici throw on every send.
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not an HTTP header name');

const slackChannelSchema = z
  .object({ type: z.literal('slack'), webhook_url_env: envName })
  .strict();

const webhookChannelSchema = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    /** Without it the body is sent unsigned. */
    secret_env: envName.optional(),
    /** Extra headers sent with every delivery (never logged). */
    headers: z.record(headerName, z.string()).optional(),
  })
  .strict();

const emailChannelSchema = z
  .object({
    type: z.literal('email'),
    smtp_url_env: envName,
    from: z.email(),
    to: z.array(z.email()).min(1),
  })
  .strict();

/** One alert channel: Slack incoming webhook, signed JSON webhook or SMTP email. */
export const channelSchema = z.discriminatedUnion('type', [
  slackChannelSchema,
  webhookChannelSchema,
  emailChannelSchema,
]);

/** The `channels:` map: channel name → its settings. */
export const channelsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a channel name is letters, digits, _ . -'),
  channelSchema,
);

/** How alerts are delivered: link target, repeat suppression, queue bound and retries. */
export const alertingSchema = z
  .object({
    /** Base URL of the dashboard; alerts link to it with the scope as a filter. */
    dashboard_url: z.url({ protocol: /^https?$/ }).optional(),
    /** A repeat of the same alert for the same scope within this is not sent. @default 15m */
    cooldown: durationSchema.default(900_000),
    /** Deliveries waiting to be sent; the oldest is dropped beyond this. @default 1000 */
    queue_size: z.number().int().positive().default(1000),
    /** Attempts per alert and channel before giving up. @default 6 */
    max_attempts: z.number().int().min(1).max(20).default(6),
    /** Exponential backoff between attempts: [base, max] milliseconds. @default [1000, 60000] */
    backoff_ms: z
      .tuple([z.number().int().min(0), z.number().int().min(0)])
      .refine(([base, max]) => base <= max, 'backoff_ms is [base, max] with base <= max')
      .default([1000, 60_000]),
    /** Channels told about admin actions (kill switches set and lifted). @default [] */
    admin_channels: z.array(z.string()).default([]),
  })
  .strict()
  .prefault({});

/** One parsed channel entry. */
export type ChannelConfig = z.output<typeof channelSchema>;
/** The parsed `channels:` map. */
export type ChannelsConfig = z.output<typeof channelsSchema>;
/** The parsed `alerting:` section, defaults filled. */
export type AlertingConfig = z.output<typeof alertingSchema>;

/** A channel with its secrets read from the environment, ready to build a transport from. */
export type ResolvedChannel =
  | { type: 'slack'; name: string; webhookUrl: string }
  | {
      type: 'webhook';
      name: string;
      url: string;
      secret: string | undefined;
      headers: Record<string, string>;
    }
  | { type: 'email'; name: string; smtpUrl: string; from: string; to: string[] };

/** A channel whose environment variable is missing or holds something unusable. */
export type ChannelProblem = { path: string; message: string };

/** Reads every channel's secrets from `env`; problems name the variable, never its value. */
export function resolveChannels(
  channels: ChannelsConfig,
  env: Readonly<Record<string, string | undefined>>,
): { resolved: ResolvedChannel[]; problems: ChannelProblem[] } {
  const resolved: ResolvedChannel[] = [];
  const problems: ChannelProblem[] = [];

  for (const [name, config] of Object.entries(channels)) {
    const path = `channels.${name}`;
    if (config.type === 'slack') {
      const url = env[config.webhook_url_env];
      if (!isUrl(url, /^https?:$/)) {
        problems.push({ path, message: `${config.webhook_url_env} is unset or not an https URL` });
        continue;
      }
      resolved.push({ type: 'slack', name, webhookUrl: url });
    } else if (config.type === 'webhook') {
      const secret = config.secret_env === undefined ? undefined : env[config.secret_env];
      if (config.secret_env !== undefined && !secret) {
        problems.push({ path, message: `${config.secret_env} is unset or empty` });
        continue;
      }
      resolved.push({
        type: 'webhook',
        name,
        url: config.url,
        secret,
        headers: config.headers ?? {},
      });
    } else {
      const url = env[config.smtp_url_env];
      if (!isUrl(url, /^smtps?:$/)) {
        problems.push({ path, message: `${config.smtp_url_env} is unset or not an smtp:// URL` });
        continue;
      }
      resolved.push({ type: 'email', name, smtpUrl: url, from: config.from, to: config.to });
    }
  }

  return { resolved, problems };
}

function isUrl(value: string | undefined, protocol: RegExp): value is string {
  if (!value) return false;
  try {
    return protocol.test(new URL(value).protocol);
  } catch {
    return false;
  }
}
