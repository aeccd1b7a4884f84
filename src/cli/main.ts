import { parseArgs } from 'node:util';
import { runInit } from './commands/init.js';
import { runKeys } from './commands/keys.js';
import { runPrice } from './commands/price-command.js';
import { runServe } from './commands/serve.js';
import { runValidate } from './commands/validate.js';
import { runReport } from './commands/report.js';
import { runExport } from './commands/export.js';
import { runEvents } from './commands/events.js';
import { runStatus } from './commands/status.js';
import { runReplay } from './commands/replay.js';
import { loadConfigFile } from '../config/load.js';
import { resolve, dirname } from 'node:path';

const USAGE = `spendgate <command> [--config spendgate.yaml]

  serve [--port N]                 run the gateway (JSON log lines on stdout)
  init [--force]                   write a commented starter config
  validate [file]                  check a config: every error with its path; exit 1 on error
  price <model> [--input N --output N --cached N --cache-write N] [--provider P]
                                   the resolved price entry and the cost of that usage
                                   (--input counts all prompt tokens, cached ones included)
  keys create [--org O --team T --user U --tag k=v]   issue a virtual key (shown once)
  keys list | keys revoke <id>
  export --format csv|json|ndjson|focus [--from T --to T] [--org O --team T ... --tag k=v]
         [--bucket hour|day] [--file out.csv] [--split-dir dir]
                                   the admin export from the ledger, to stdout or a file;
                                   --split-dir writes files of ≤ 10,000 rows / 2 MB (Vantage)
  report [--by org|team|user|endpoint|model|tag:<name>] [--since 7d] [--top 20]
                                   top spenders from the ledger, as a table
  status [--url U] [--token-env VAR]
                                   a running gateway's health, config version, budgets near
                                   their limit and open circuit breakers (admin API)
  events [--follow] [--type T] [--url U] [--token-env VAR]
                                   rejections, alerts, breaker changes as they happen
  replay --policy <new.yaml> [--since 30d]
                                   past ledger rows through another policy's budgets and
                                   rate limits: what it would have warned, throttled,
                                   rejected, and the spend it would have saved
`;

const out = (line: string): void => {
  console.log(line);
};

/** The command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out(USAGE);
    return command ? 0 : 1;
  }

  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: false,
    options: {
      config: { type: 'string', default: './spendgate.yaml' },
      port: { type: 'string' },
      force: { type: 'boolean' },
      input: { type: 'string' },
      output: { type: 'string' },
      cached: { type: 'string' },
      'cache-write': { type: 'string' },
      provider: { type: 'string' },
      by: { type: 'string', default: 'org' },
      since: { type: 'string' },
      top: { type: 'string', default: '20' },
      policy: { type: 'string' },
      format: { type: 'string', default: 'csv' },
      from: { type: 'string' },
      to: { type: 'string' },
      bucket: { type: 'string', default: 'hour' },
      file: { type: 'string' },
      'split-dir': { type: 'string' },
      org: { type: 'string' },
      team: { type: 'string' },
      user: { type: 'string' },
      endpoint: { type: 'string' },
      model: { type: 'string' },
      upstream: { type: 'string' },
      key: { type: 'string' },
      decision: { type: 'string' },
      tag: { type: 'string', multiple: true },
      url: { type: 'string' },
      'token-env': { type: 'string', default: 'SPENDGATE_ADMIN_TOKEN' },
      follow: { type: 'boolean' },
      type: { type: 'string' },
    },
  });
  const configFile = String(values.config);

  switch (command) {
    case 'serve':
      return runServe(configFile, { port: values.port ? Number(values.port) : undefined, out });
    case 'init':
      return runInit(configFile, { force: values.force === true, out });
    case 'validate':
      return runValidate(positionals[0] ?? configFile, { env: process.env, out });
    case 'price': {
      if (!positionals[0]) {
        out('usage: spendgate price <model> [--input N --output N --cached N --cache-write N]');
        return 1;
      }
      const counts = ['input', 'output', 'cached', 'cache-write'].map((k) =>
        Number(values[k] ?? 0),
      );
      if (counts.some((n) => !Number.isInteger(n) || n < 0)) {
        out('token counts must be whole numbers ≥ 0');
        return 1;
      }
      const [input = 0, output = 0, cached = 0, cacheWrite = 0] = counts;
      const provider = typeof values.provider === 'string' ? values.provider : undefined;
      return runPrice(
        configFile,
        { model: positionals[0], input, output, cached, cacheWrite, provider },
        out,
      );
    }
    case 'keys':
      return runKeys(
        rest.filter((a, i) => !(a === '--config' || rest[i - 1] === '--config')),
        { file: keysFile(configFile), out, err: (line) => console.error(line) },
      );
    case 'export': {
      const dims: Record<string, string> = {};
      for (const name of [
        'org',
        'team',
        'user',
        'endpoint',
        'model',
        'provider',
        'upstream',
        'key',
        'decision',
      ]) {
        if (typeof values[name] === 'string') dims[name] = values[name];
      }
      const tags: Record<string, string> = {};
      for (const pair of (values.tag as string[] | undefined) ?? []) {
        const eq = pair.indexOf('=');
        if (eq > 0) tags[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const text = (name: string): string | undefined =>
        typeof values[name] === 'string' ? (values[name] as string) : undefined;
      return runExport(
        configFile,
        {
          format: String(values.format),
          from: text('from'),
          to: text('to'),
          dims,
          tags,
          bucket: String(values.bucket),
          output: text('file'),
          splitDir: text('split-dir'),
        },
        { stdout: process.stdout, out: (line) => console.error(line) },
      );
    }
    case 'status':
    case 'events': {
      const remote = {
        url:
          typeof values.url === 'string' ? values.url.replace(/\/+$/, '') : gatewayUrl(configFile),
        token: process.env[String(values['token-env'])],
      };
      if (command === 'status') return runStatus(remote, out);
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      const type = typeof values.type === 'string' ? values.type : undefined;
      return runEvents(remote, { follow: values.follow === true, type, signal: stop.signal, out });
    }
    case 'report':
      return runReport(configFile, {
        by: String(values.by),
        since: typeof values.since === 'string' ? values.since : '7d',
        top: Number(values.top) || 20,
        nowMs: Date.now(),
        out,
      });
    case 'replay':
      if (typeof values.policy !== 'string') {
        out('usage: spendgate replay --policy <new.yaml> [--since 30d]');
        return 1;
      }
      return runReplay(configFile, {
        policy: values.policy,
        since: typeof values.since === 'string' ? values.since : '30d',
        nowMs: Date.now(),
        out,
      });
    default:
      out(`unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

/** The virtual-key file the config names, relative to the config's folder; `./keys.yaml` without one. */
function keysFile(configFile: string): string {
  const base = dirname(resolve(configFile));
  try {
    const file = loadConfigFile(configFile).raw.identity?.api_keys?.file;
    return resolve(base, file ?? './keys.yaml');
  } catch {
    return resolve(base, './keys.yaml');
  }
}

/** The URL of the gateway the config describes; `http://127.0.0.1:8080` without a config. */
function gatewayUrl(configFile: string): string {
  try {
    const { host, port } = loadConfigFile(configFile).listen;
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  } catch {
    return 'http://127.0.0.1:8080';
  }
}
