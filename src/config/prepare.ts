import type { ErrorDialect, UpstreamFormat } from '../providers/types.js';
import type { ParsedConfig, UpstreamConfig } from './schema.js';
import type { Problem } from './load.js';

/** An upstream with everything the request path needs worked out at load time. */
export type PreparedUpstream = {
  name: string;
  format: UpstreamFormat;
  dialect: ErrorDialect;
  /** Provider id for pricing hints and the ledger's `provider`. */
  provider: string;
  origin: string;
  /** Path prefix of `base_url` (no trailing slash), prepended to the forwarded path. */
  basePath: string;
  /** The provider key read from `api_key_env`; null when the client's own key passes through. */
  apiKey: string | null;
  /** True when the config names a key variable, even if it is not set in the environment. */
  holdsKey: boolean;
  timeoutMs: number;
  deployments: Readonly<Record<string, string>>;
  unmetered: 'forward' | 'reject';
  connections: number;
};

export type AdminToken = {
  name: string;
  token: string;
  scope: Readonly<Record<string, string>> | null;
};

/** The validated, prepared and frozen configuration the gateway runs on. */
export type GatewayConfig = {
  version: string;
  file: string;
  raw: ParsedConfig;
  listen: { host: string; port: number; maxBodyBytes: number };
  upstreams: ReadonlyMap<string, PreparedUpstream>;
  adminTokens: readonly AdminToken[];
  requireCredential: boolean;
  warnings: readonly Problem[];
};

/** Hosts whose provider id is known from the base URL of an OpenAI-format upstream. */
const PROVIDER_HOSTS: [RegExp, string][] = [
  [/(^|\.)openai\.com$/, 'openai'],
  [/(^|\.)mistral\.ai$/, 'mistral'],
  [/(^|\.)groq\.com$/, 'groq'],
  [/(^|\.)deepseek\.com$/, 'deepseek'],
  [/(^|\.)together\.(ai|xyz)$/, 'together'],
  [/(^|\.)fireworks\.ai$/, 'fireworks'],
  [/(^|\.)openrouter\.ai$/, 'openrouter'],
  [/(^|\.)x\.ai$/, 'x-ai'],
  [/(^|\.)googleapis\.com$/, 'google'],
];

/** Turns a parsed config into the frozen runtime form; secrets are read from `env` here only. */
export function prepareConfig(
  config: ParsedConfig,
  opts: { env: NodeJS.ProcessEnv; version: string; warnings: Problem[]; file: string },
): GatewayConfig {
  const upstreams = new Map<string, PreparedUpstream>();
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    upstreams.set(name, prepareUpstream(name, upstream, opts.env));
  }

  const adminTokens: AdminToken[] = [];
  for (const t of config.admin.tokens) {
    const token = opts.env[t.token_env];
    if (token)
      adminTokens.push({
        name: t.name,
        token,
        scope: t.scope ? Object.freeze({ ...t.scope }) : null,
      });
  }

  const anyKeyHeld = [...upstreams.values()].some((u) => u.holdsKey);
  const prepared: GatewayConfig = {
    version: opts.version,
    file: opts.file,
    raw: deepFreeze(config),
    listen: {
      host: config.listen.host,
      port: config.listen.port,
      maxBodyBytes: Math.floor(config.listen.max_body_mb * 1024 * 1024),
    },
    upstreams,
    adminTokens: Object.freeze(adminTokens),
    requireCredential: config.identity?.require_credential ?? anyKeyHeld,
    warnings: Object.freeze(opts.warnings),
  };
  return Object.freeze(prepared);
}

function prepareUpstream(
  name: string,
  upstream: UpstreamConfig,
  env: NodeJS.ProcessEnv,
): PreparedUpstream {
  const url = new URL(upstream.base_url);
  return Object.freeze({
    name,
    format: upstream.format,
    dialect: upstream.format === 'anthropic' ? 'anthropic' : 'openai',
    provider: upstream.provider ?? providerOf(name, upstream.format, url.hostname),
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    apiKey: upstream.api_key_env ? (env[upstream.api_key_env] ?? null) || null : null,
    holdsKey: Boolean(upstream.api_key_env),
    timeoutMs: upstream.timeout,
    deployments: Object.freeze({ ...(upstream.deployments ?? {}) }),
    unmetered: upstream.unmetered,
    connections: upstream.connections,
  });
}

function providerOf(name: string, format: UpstreamFormat, host: string): string {
  if (format === 'anthropic') return 'anthropic';
  if (format === 'azure-openai') return 'azure';
  for (const [pattern, provider] of PROVIDER_HOSTS) if (pattern.test(host)) return provider;
  return name;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}
