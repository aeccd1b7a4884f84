import type { OptionSpec } from './args.js';

/** One command of the `spendgate` binary: its options and the help it prints. */
export type CommandInfo = {
  /** `spendgate <name> ...` lines, as `--help` and a usage error print them. */
  usage: readonly string[];
  /** What it does, in a few words: the command list. */
  summary: string;
  /** What it does, under the usage in `--help`. */
  about: string;
  options: OptionSpec;
  /** Arguments that are not options it takes (a file, a model name). */
  positionals: number;
};

// Every command reads the config file and answers --help / -h.
const COMMON: OptionSpec = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const DIMENSIONS = ['org', 'team', 'user', 'endpoint', 'model', 'provider', 'upstream', 'key'];

/** The commands, in the order the command list shows them. */
export const COMMANDS: Readonly<Record<string, CommandInfo>> = {
  serve: {
    summary: 'run the gateway',
    usage: ['spendgate serve [--port N] [--config spendgate.yaml]'],
    about: 'run the gateway (JSON log lines on stdout; SIGTERM or Ctrl-C drains and stops it)',
    options: { ...COMMON, port: { type: 'string' } },
    positionals: 0,
  },
  init: {
    summary: 'write a commented starter config',
    usage: ['spendgate init [--force] [--config spendgate.yaml]'],
    about: 'write a commented starter config (an existing file is kept without --force)',
    options: { ...COMMON, force: { type: 'boolean' } },
    positionals: 0,
  },
  validate: {
    summary: 'check a config file and list every problem in it',
    usage: ['spendgate validate [file] [--config spendgate.yaml]'],
    about: 'check a config: every problem with its path and line; exit 1 on any error',
    options: COMMON,
    positionals: 1,
  },
  price: {
    summary: 'the price of a model and the cost of a usage',
    usage: [
      'spendgate price <model> [--input N] [--output N] [--cached N] [--cache-write N]',
      '                [--provider P] [--config spendgate.yaml]',
    ],
    about:
      'the resolved price entry and the cost of that usage (--input counts every prompt ' +
      'token, the cached and cache-write ones included); exit 3 when the model has no price',
    options: {
      ...COMMON,
      input: { type: 'string' },
      output: { type: 'string' },
      cached: { type: 'string' },
      'cache-write': { type: 'string' },
      provider: { type: 'string' },
    },
    positionals: 1,
  },
  keys: {
    summary: 'create, list and revoke virtual keys',
    usage: [
      'spendgate keys create [--org O] [--team T] [--user U] [--tag name=value ...]',
      'spendgate keys list',
      'spendgate keys revoke <id>',
    ],
    about: 'virtual keys: a new key is printed once; the keys file keeps only its hash',
    // runKeys parses its own arguments; these are what it takes.
    options: COMMON,
    positionals: 2,
  },
  export: {
    summary: 'export ledger rows (csv, json, ndjson, FOCUS)',
    usage: [
      'spendgate export [--format csv|json|ndjson|focus] [--from T] [--to T] [--bucket hour|day]',
      '                 [--org O --team T ... --tag name=value] [--file out.csv]',
      '                 [--split-dir dir] [--config spendgate.yaml]',
    ],
    about:
      'the admin export from the ledger, to stdout or a file; --split-dir writes files of at ' +
      'most 10,000 rows / 2 MB (Vantage)',
    options: {
      ...COMMON,
      format: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      bucket: { type: 'string' },
      file: { type: 'string' },
      'split-dir': { type: 'string' },
      decision: { type: 'string' },
      tag: { type: 'string', multiple: true },
      ...Object.fromEntries(DIMENSIONS.map((d) => [d, { type: 'string' as const }])),
    },
    positionals: 0,
  },
  report: {
    summary: 'top spenders from the ledger',
    usage: [
      'spendgate report [--by org|team|user|endpoint|model|provider|upstream|key|tag:<name>]',
      '                 [--since 7d] [--top 20] [--config spendgate.yaml]',
    ],
    about: 'top spenders from the ledger, as a table',
    options: {
      ...COMMON,
      by: { type: 'string' },
      since: { type: 'string' },
      top: { type: 'string' },
    },
    positionals: 0,
  },
  status: {
    summary: "a running gateway's health and budgets near their limit",
    usage: ['spendgate status [--url U] [--token-env VAR] [--config spendgate.yaml]'],
    about:
      "a running gateway's health, config version, budgets near their limit and open " +
      'circuit breakers (admin API)',
    options: { ...COMMON, url: { type: 'string' }, 'token-env': { type: 'string' } },
    positionals: 0,
  },
  events: {
    summary: 'rejections, warnings, alerts and kill switches as they happen',
    usage: [
      'spendgate events [--follow] [--type T] [--url U] [--token-env VAR] [--config spendgate.yaml]',
    ],
    about: 'rejections, warnings, alerts, kill switches and breaker changes, as they happen',
    options: {
      ...COMMON,
      follow: { type: 'boolean' },
      type: { type: 'string' },
      url: { type: 'string' },
      'token-env': { type: 'string' },
    },
    positionals: 0,
  },
  replay: {
    summary: 'past traffic through another policy: what it would have refused',
    usage: ['spendgate replay --policy <new.yaml> [--since 30d] [--config spendgate.yaml]'],
    about:
      "past ledger rows through another policy's budgets and rate limits: what it would " +
      'have warned, throttled and rejected, and the spend it would have saved',
    options: { ...COMMON, policy: { type: 'string' }, since: { type: 'string' } },
    positionals: 0,
  },
};

/** `spendgate <command> --help`: the usage lines, then what the command does. */
export function commandHelp(name: string): string {
  const info = COMMANDS[name] as CommandInfo;
  const [first = '', ...more] = info.usage;
  const about = wrap(info.about, 94).map((l) => `  ${l}`);
  return [`usage: ${first}`, ...more.map((l) => `       ${l}`), '', ...about].join('\n');
}

/** Words into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The usage lines alone, printed after a usage error. */
export function commandUsage(name: string): string {
  const info = COMMANDS[name] as CommandInfo;
  const [first = '', ...more] = info.usage;
  return [`usage: ${first}`, ...more.map((l) => `       ${l}`)].join('\n');
}

/** `spendgate --help`: every command with one line on what it does. */
export function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  return [
    'usage: spendgate <command> [options] [--config spendgate.yaml]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, info]) => `  ${name.padEnd(width)}${info.summary}`),
    '',
    "`spendgate <command> --help` shows a command's options.",
  ].join('\n');
}
