import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import { loadJwksFile } from '../identity/jwt.js';
import { configSchema, type ParsedConfig } from './schema.js';
import { resolveChannels } from '../alert/schema.js';
import { prepareConfig, type GatewayConfig } from './prepare.js';
import { describeIssues, problemAt, type Problem } from './problems.js';

export type { Problem } from './problems.js';

/** Reads, validates and prepares a config file; throws {@link ConfigError} listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: unreadable(file, err) }]);
  }
  return loadConfigText(text, file, env);
}

/** Why a config file cannot be read, in words: a missing one says how to write one. */
export function unreadable(file: string, err: unknown): string {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return `no config file at ${resolve(file)}; write one with \`spendgate init\``;
  }
  return `cannot read ${resolve(file)}: ${(err as Error).message}`;
}

/** Validates config text (YAML or JSON) and prepares it; `file` names it in error messages. */
export function loadConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): GatewayConfig {
  const { config, problems, warnings } = checkConfigText(text, env, dirname(resolve(file)));
  if (!config) throw new ConfigError(file, problems);
  return prepareConfig(config, { env, version: configVersion(text), warnings, file });
}

/**
 * Validation without throwing: what `spendgate validate` prints. With `baseDir` (the config
 * file's folder) the files the config names are read too, so a missing one is found here
 * rather than when the gateway starts.
 */
export function checkConfigText(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  baseDir?: string,
): { config: ParsedConfig | null; problems: Problem[]; warnings: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const message = e.message.split('\n')[0] ?? e.message;
      return {
        path: pos ? `line ${pos.line}:${pos.col}` : '(file)',
        // A URL such as `redis://host/0?prefix=sg:` reads as a key: say what to do about it.
        message: UNQUOTED_COLON.has(e.code)
          ? `${message.replace(/:$/, '')}; ${QUOTE_HINT}`
          : message,
      };
    });
    return { config: null, problems, warnings: [] };
  }

  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    return {
      config: null,
      problems: describeIssues(result.error.issues, raw, doc, lineCounter),
      warnings: [],
    };
  }

  const at: Warn = (keys, message) => problemAt(keys, message, doc, lineCounter);
  const fileProblems = baseDir === undefined ? [] : checkNamedFiles(result.data, baseDir, at);
  if (fileProblems.length > 0) return { config: null, problems: fileProblems, warnings: [] };
  return { config: result.data, problems: [], warnings: collectWarnings(result.data, env, at) };
}

/** The files a config names that must be readable for the gateway to start. */
function checkNamedFiles(config: ParsedConfig, baseDir: string, at: Warn): Problem[] {
  const jwksFile = config.identity?.jwt?.jwks_file;
  if (jwksFile === undefined) return [];
  try {
    loadJwksFile(resolve(baseDir, jwksFile));
    return [];
  } catch (err) {
    const message = err instanceof ConfigError ? err.problems[0]?.message : undefined;
    return [at(['identity', 'jwt', 'jwks_file'], message ?? (err as Error).message)];
  }
}

/** YAML errors that an unquoted value with `: ` in it, or ending in `:`, causes. */
const UNQUOTED_COLON = new Set(['BLOCK_AS_IMPLICIT_KEY', 'BLOCK_IN_FLOW']);
const QUOTE_HINT = "quote values that contain ': ' or end with ':'";

/** A short hash of the file's text, shown by `spendgate status` and logged on (re)load. */
export function configVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

type Warn = (keys: (string | number)[], message: string) => Problem;

function collectWarnings(config: ParsedConfig, env: NodeJS.ProcessEnv, at: Warn): Problem[] {
  const warnings: Problem[] = [];
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    if (upstream.api_key_env && !env[upstream.api_key_env]) {
      warnings.push(
        at(
          ['upstreams', name, 'api_key_env'],
          `environment variable ${upstream.api_key_env} is not set; requests to /${name} get 502 until the gateway is restarted with it set`,
        ),
      );
    }
  }
  const secretEnv = config.identity?.jwt?.hs256_secret_env;
  if (secretEnv && !env[secretEnv]) {
    warnings.push(
      at(
        ['identity', 'jwt', 'hs256_secret_env'],
        `environment variable ${secretEnv} is not set; the gateway will not start until it is set`,
      ),
    );
  }
  config.admin.tokens.forEach((token, i) => {
    if (!env[token.token_env]) {
      warnings.push(
        at(
          ['admin', 'tokens', i, 'token_env'],
          `environment variable ${token.token_env} is not set; token "${token.name}" is disabled`,
        ),
      );
    }
  });
  warnUnknownChannels(config, warnings, at);
  for (const problem of resolveChannels(config.channels ?? {}, env).problems) {
    // Channel problems are named `channels.<name>`; a name may itself hold dots.
    const name = problem.path.replace(/^channels\./, '');
    warnings.push(
      at(['channels', name], `${problem.message}; this channel is disabled until it is set`),
    );
  }
  return warnings;
}

/** Channel names used by budgets and guard rules that the `channels:` section does not define. */
function warnUnknownChannels(config: ParsedConfig, warnings: Problem[], at: Warn): void {
  const known = new Set(Object.keys(config.channels ?? {}));
  const check = (keys: (string | number)[], names: readonly string[], what = ''): void => {
    for (const name of names) {
      if (!known.has(name))
        warnings.push(at(keys, `channel "${name}"${what} is not defined in channels:`));
    }
  };
  // Budget alerts are sorted by threshold once parsed: the threshold says which one is meant.
  (config.budgets ?? []).forEach((b, i) =>
    b.alerts.forEach((a) => check(['budgets', i, 'alerts'], a.channels, ` (alert at ${a.at}%)`)),
  );
  (config.anomaly ?? []).forEach((r, i) => check(['anomaly', i, 'channels'], r.channels));
  (config.circuit_breaker ?? []).forEach((r, i) =>
    check(['circuit_breaker', i, 'channels'], r.channels),
  );
  check(['alerting', 'admin_channels'], config.alerting.admin_channels);
}
