import { dirname, resolve } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import { parseCommandArgs, text, UsageError, wholeNumber, type ParsedArgs } from './args.js';
import { runEvents } from './commands/events.js';
import { runExport } from './commands/export.js';
import { runInit } from './commands/init.js';
import { runKeys } from './commands/keys.js';
import { runPrice } from './commands/price-command.js';
import { runReplay } from './commands/replay.js';
import { runReport } from './commands/report.js';
import { runServe } from './commands/serve.js';
import { runStatus } from './commands/status.js';
import { runValidate } from './commands/validate.js';
import { describeFailure } from './failure.js';
import { COMMANDS, commandHelp, commandUsage, overview } from './usage.js';

/** Where the command line writes: results to `out` (stdout), errors to `err` (stderr). */
export type CliIo = { out: (line: string) => void; err: (line: string) => void };

const CONSOLE: CliIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

const DEFAULT_CONFIG = './spendgate.yaml';
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** The command line; returns the exit code. */
export async function main(argv: string[], io: CliIo = CONSOLE): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    const topic = rest[0];
    if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) io.out(commandHelp(topic));
    else io.out(overview());
    return 0;
  }
  if (command === undefined || !Object.hasOwn(COMMANDS, command)) {
    io.err(
      command === undefined ? 'error: no command given' : `error: unknown command "${command}"`,
    );
    io.err(overview());
    return EXIT_USAGE;
  }
  // Asked for help, a command does nothing else, whatever the other arguments are.
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(command));
    return 0;
  }

  try {
    if (command === 'keys') return await keys(rest, io);
    const info = COMMANDS[command];
    const args = parseCommandArgs(rest, info?.options ?? {}, info?.positionals ?? 0);
    return await run(command, args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      io.err(commandUsage(command));
      return EXIT_USAGE;
    }
    for (const line of describeFailure(err)) io.err(line);
    return EXIT_FAILED;
  }
}

async function run(command: string, args: ParsedArgs, io: CliIo): Promise<number> {
  const { values, positionals } = args;
  const configFile = text(values, 'config') ?? DEFAULT_CONFIG;

  switch (command) {
    case 'serve': {
      const port = text(values, 'port') === undefined ? undefined : wholeNumber(values, 'port', 0);
      if (port !== undefined && port > 65_535) throw new UsageError('--port must be 0 to 65535');
      return runServe(configFile, { port, out: io.out, err: io.err });
    }
    case 'init':
      return runInit(configFile, { force: values.force === true, out: io.out });
    case 'validate':
      return runValidate(positionals[0] ?? configFile, { env: process.env, out: io.out });
    case 'price':
      return price(configFile, args, io);
    case 'export':
      return runExport(configFile, exportArgs(values), {
        stdout: process.stdout,
        out: io.err,
      });
    case 'report':
      return runReport(configFile, {
        by: text(values, 'by') ?? 'org',
        since: text(values, 'since') ?? '7d',
        top: wholeNumber(values, 'top', 20, 1),
        nowMs: Date.now(),
        out: io.out,
      });
    case 'status':
    case 'events': {
      const url = text(values, 'url');
      const remote = {
        url: url !== undefined ? url.replace(/\/+$/, '') : gatewayUrl(configFile),
        token: process.env[text(values, 'token-env') ?? 'SPENDGATE_ADMIN_TOKEN'],
      };
      if (command === 'status') return runStatus(remote, io.out);
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      const type = text(values, 'type');
      return runEvents(remote, {
        follow: values.follow === true,
        type,
        signal: stop.signal,
        out: io.out,
      });
    }
    case 'replay': {
      const policy = text(values, 'policy');
      if (policy === undefined) throw new UsageError('--policy <new.yaml> is required');
      return runReplay(configFile, {
        policy,
        since: text(values, 'since') ?? '30d',
        nowMs: Date.now(),
        out: io.out,
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function price(configFile: string, { values, positionals }: ParsedArgs, io: CliIo): number {
  const model = positionals[0];
  if (model === undefined) throw new UsageError('price needs a model name');
  const [input, output, cached, cacheWrite] = ['input', 'output', 'cached', 'cache-write'].map(
    (name) => wholeNumber(values, name, 0),
  ) as [number, number, number, number];
  if (cached + cacheWrite > input) {
    throw new UsageError(
      '--cached and --cache-write are parts of --input; their sum cannot exceed it',
    );
  }
  const provider = text(values, 'provider');
  return runPrice(configFile, { model, input, output, cached, cacheWrite, provider }, io.out);
}

function exportArgs(values: ParsedArgs['values']) {
  const dims: Record<string, string> = {};
  for (const name of ['org', 'team', 'user', 'endpoint', 'model', 'provider', 'upstream', 'key']) {
    const value = text(values, name);
    if (value !== undefined) dims[name] = value;
  }
  const decision = text(values, 'decision');
  if (decision !== undefined) dims.decision = decision;
  const tags: Record<string, string> = {};
  for (const pair of (values.tag as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag needs name=value, got "${pair}"`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    format: text(values, 'format') ?? 'csv',
    from: text(values, 'from'),
    to: text(values, 'to'),
    dims,
    tags,
    bucket: text(values, 'bucket') ?? 'hour',
    output: text(values, 'file'),
    splitDir: text(values, 'split-dir'),
  };
}

/** `spendgate keys ...`: its subcommands parse their own arguments (`--config` included). */
function keys(rest: string[], io: CliIo): Promise<number> {
  let configFile = DEFAULT_CONFIG;
  rest.forEach((arg, i) => {
    if (arg === '--config' && rest[i + 1] !== undefined) configFile = rest[i + 1] as string;
    else if (arg.startsWith('--config=')) configFile = arg.slice('--config='.length);
  });
  return runKeys(rest, { file: keysFile(configFile), out: io.out, err: io.err });
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
