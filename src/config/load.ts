import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type ParsedConfig } from './schema.js';
import { resolveChannels } from '../alert/schema.js';
import { prepareConfig, type GatewayConfig } from './prepare.js';

export type Problem = { path: string; message: string };

/** Reads, validates and prepares a config file; throws {@link ConfigError} listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: (err as Error).message }]);
  }
  return loadConfigText(text, file, env);
}

/** Validates config text (YAML or JSON) and prepares it; `file` names it in error messages. */
export function loadConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): GatewayConfig {
  const { config, problems, warnings } = checkConfigText(text, env);
  if (!config) throw new ConfigError(file, problems);
  return prepareConfig(config, { env, version: configVersion(text), warnings, file });
}

/** Validation without throwing: what `spendgate validate` prints. */
export function checkConfigText(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
): { config: ParsedConfig | null; problems: Problem[]; warnings: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return {
        path: pos ? `line ${pos.line}:${pos.col}` : '(file)',
        message: e.message.split('\n')[0] ?? e.message,
      };
    });
    return { config: null, problems, warnings: [] };
  }

  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    return {
      config: null,
      problems: describeIssues(result.error.issues, doc, lineCounter),
      warnings: [],
    };
  }

  return { config: result.data, problems: [], warnings: collectWarnings(result.data, env) };
}

/** A short hash of the file's text, shown by `spendgate status` and logged on (re)load. */
export function configVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
): Problem[] {
  return issues.map((issue) => {
    const keys = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const dotted = keys.length ? keys.join('.') : '(root)';
    const node = findNode(doc, keys);
    const at = node ? lineCounter.linePos(node) : null;
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown field(s): ${issue.keys.join(', ')}`;
    // A bad map key (an upstream name) says only "Invalid key in record"; its own issues say why.
    if (issue.code === 'invalid_key') message = issue.issues.map((i) => i.message).join('; ');
    return { path: at ? `${dotted} (line ${at.line})` : dotted, message };
  });
}

/** The source offset of the deepest node of `keys` present in the document. */
function findNode(doc: ReturnType<typeof parseDocument>, keys: (string | number)[]): number | null {
  for (let depth = keys.length; depth >= 0; depth--) {
    const node = doc.getIn(keys.slice(0, depth), true) as
      { range?: [number, number, number] } | undefined;
    if (node && node.range) return node.range[0];
  }
  return null;
}

function collectWarnings(config: ParsedConfig, env: NodeJS.ProcessEnv): Problem[] {
  const warnings: Problem[] = [];
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    if (upstream.api_key_env && !env[upstream.api_key_env]) {
      warnings.push({
        path: `upstreams.${name}.api_key_env`,
        message: `environment variable ${upstream.api_key_env} is not set; requests to /${name} get 502 until it is`,
      });
    }
  }
  config.admin.tokens.forEach((token, i) => {
    if (!env[token.token_env]) {
      warnings.push({
        path: `admin.tokens.${i}.token_env`,
        message: `environment variable ${token.token_env} is not set; token "${token.name}" is disabled`,
      });
    }
  });
  warnUnknownChannels(config, warnings);
  for (const problem of resolveChannels(config.channels ?? {}, env).problems) {
    warnings.push({
      path: problem.path,
      message: `${problem.message}; this channel is disabled until it is set`,
    });
  }
  return warnings;
}

/** Channel names used by budgets and guard rules that the `channels:` section does not define. */
function warnUnknownChannels(config: ParsedConfig, warnings: Problem[]): void {
  const known = new Set(Object.keys(config.channels ?? {}));
  const check = (path: string, names: readonly string[]): void => {
    for (const name of names) {
      if (!known.has(name))
        warnings.push({ path, message: `channel "${name}" is not defined in channels:` });
    }
  };
  (config.budgets ?? []).forEach((b, i) =>
    (b.alerts ?? []).forEach((a, j) => check(`budgets.${i}.alerts.${j}.channels`, a.channels)),
  );
  (config.anomaly ?? []).forEach((r, i) => check(`anomaly.${i}.channels`, r.channels));
  (config.circuit_breaker ?? []).forEach((r, i) =>
    check(`circuit_breaker.${i}.channels`, r.channels),
  );
  check('alerting.admin_channels', config.alerting.admin_channels);
}
