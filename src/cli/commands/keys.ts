import { parseArgs } from 'node:util';

import { systemClock, type Clock } from '../../clock.js';
import {
  createKey,
  listKeys,
  revokeKey,
  type KeyFields,
  type KeyRecord,
} from '../../identity/index.js';
import { describeArgsError } from '../args.js';
import { commandHelp, commandUsage } from '../usage.js';

/** How `spendgate keys` reaches the keys file and the terminal. */
export type KeysCommandOptions = {
  /** `identity.api_keys.file`, already resolved from the config. */
  file: string;
  out: (line: string) => void;
  /** Where errors go. @default out */
  err?: (line: string) => void;
  /** The clock for `created_at` / `revoked_at`. @default systemClock */
  clock?: Clock;
};

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** Runs `spendgate keys create|list|revoke`; returns the process exit code. */
export async function runKeys(args: string[], opts: KeysCommandOptions): Promise<number> {
  const err = opts.err ?? opts.out;
  const nowMs = (opts.clock ?? systemClock).now();
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        org: { type: 'string' },
        team: { type: 'string' },
        user: { type: 'string' },
        tag: { type: 'string', multiple: true },
        // Read by the caller to find the keys file; accepted here so it may be passed along.
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usage(err, describeArgsError(error));
  }
  if (parsed.values.help === true) {
    opts.out(commandHelp('keys'));
    return EXIT_OK;
  }
  const [command, ...rest] = parsed.positionals;

  try {
    switch (command) {
      case 'create':
        if (rest.length > 0) return usage(err, `unexpected argument "${rest[0]}"`);
        return create(opts.file, parsed.values, nowMs, opts.out, err);
      case 'list':
        if (rest.length > 0) return usage(err, `unexpected argument "${rest[0]}"`);
        return list(opts.file, opts.out);
      case 'revoke':
        if (rest.length !== 1 || !rest[0]) return usage(err, 'revoke needs one key id');
        return revoke(opts.file, rest[0], nowMs, opts.out, err);
      default:
        return usage(err, command ? `unknown subcommand "${command}"` : 'no subcommand');
    }
  } catch (error) {
    err(`error: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
}

type CreateValues = { org?: string; team?: string; user?: string; tag?: string[] };

function create(
  file: string,
  values: CreateValues,
  nowMs: number,
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  const fields: KeyFields = {};
  if (values.org !== undefined) fields.org = values.org;
  if (values.team !== undefined) fields.team = values.team;
  if (values.user !== undefined) fields.user = values.user;
  for (const pair of values.tag ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) return usage(err, `--tag needs name=value, got "${pair}"`);
    (fields.tags ??= {})[pair.slice(0, at)] = pair.slice(at + 1);
  }

  const { id, key } = createKey(file, fields, nowMs);

  out(`Created key ${id}${describe(fields)}`);
  out('');
  out(`  ${key}`);
  out('');
  out('Store this key now: it cannot be shown again. Spendgate keeps only its hash.');
  return EXIT_OK;
}

function list(file: string, out: (line: string) => void): number {
  const records = listKeys(file);
  if (records.length === 0) {
    out(`No keys in ${file}.`);
    return EXIT_OK;
  }

  const header = ['ID', 'ORG', 'TEAM', 'USER', 'TAGS', 'CREATED', 'REVOKED'];
  const rows = records.map(row);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((cells) => cells[i]?.length ?? 0)),
  );
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  out(format(header));
  for (const cells of rows) out(format(cells));
  return EXIT_OK;
}

function row(record: KeyRecord): string[] {
  const tags = Object.entries(record.tags ?? {}).map(([name, value]) => `${name}=${value}`);
  return [
    record.id,
    record.org ?? '-',
    record.team ?? '-',
    record.user ?? '-',
    tags.length > 0 ? tags.join(',') : '-',
    record.created_at,
    record.revoked_at ?? '-',
  ];
}

function revoke(
  file: string,
  id: string,
  nowMs: number,
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  const record = revokeKey(file, id, nowMs);
  if (record === null) {
    err(`error: no key with id ${id} in ${file}`);
    return EXIT_FAILED;
  }
  out(`Revoked key ${id} at ${record.revoked_at ?? ''}.`);
  return EXIT_OK;
}

function describe(fields: KeyFields): string {
  const parts = [
    ...(['org', 'team', 'user'] as const).flatMap((name) => {
      const value = fields[name];
      return value === undefined ? [] : [`${name}=${value}`];
    }),
    ...Object.entries(fields.tags ?? {}).map(([name, value]) => `tag.${name}=${value}`),
  ];
  return parts.length > 0 ? ` (${parts.join(' ')})` : '';
}

function usage(err: (line: string) => void, problem: string): number {
  err(`error: ${problem}`);
  for (const line of commandUsage('keys').split('\n')) err(line);
  return EXIT_USAGE;
}
