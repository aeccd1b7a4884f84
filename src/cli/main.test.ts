import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { COMMANDS, commandHelp, commandUsage, overview } from './usage.js';

/** Runs the command line in-process, with what it writes to stdout and stderr kept apart. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// A config path that does not exist: a command that ran instead of printing help would fail.
const MISSING = join(mkdtempSync(join(tmpdir(), 'spendgate-cli-main-')), 'none.yaml');

describe('spendgate --help', () => {
  it('prints every command with what it does on stdout, exit 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      expect(await cli(flag)).toEqual({ code: 0, out: overview(), err: '' });
    }
    expect(overview().split('\n').slice(0, 4)).toEqual([
      'usage: spendgate <command> [options] [--config spendgate.yaml]',
      '',
      'commands:',
      '  serve     run the gateway',
    ]);
  });

  it.each(Object.keys(COMMANDS))('%s --help and -h print its usage and exit 0', async (name) => {
    const long = await cli(name, '--help', '--config', MISSING);
    const short = await cli(name, '-h');

    expect(long).toEqual({ code: 0, out: commandHelp(name), err: '' });
    expect(short).toEqual({ code: 0, out: commandHelp(name), err: '' });
  });

  it('serve --help prints its usage and starts nothing', async () => {
    // A started gateway would only resolve on SIGTERM.
    const result = await cli('serve', '--help');

    expect(result).toEqual({
      code: 0,
      out: [
        'usage: spendgate serve [--port N] [--config spendgate.yaml]',
        '',
        '  run the gateway (JSON log lines on stdout; SIGTERM or Ctrl-C drains and stops it)',
      ].join('\n'),
      err: '',
    });
  });

  it('report --help prints its usage instead of reading the ledger', async () => {
    const result = await cli('report', '--help', '--config', MISSING);

    expect(result).toEqual({
      code: 0,
      out: [
        'usage: spendgate report [--by org|team|user|endpoint|model|provider|upstream|key|tag:<name>]',
        '                        [--since 7d] [--top 20] [--config spendgate.yaml]',
        '',
        '  top spenders from the ledger, as a table',
      ].join('\n'),
      err: '',
    });
  });

  it('help <command> prints that command’s usage', async () => {
    expect(await cli('help', 'keys')).toEqual({ code: 0, out: commandHelp('keys'), err: '' });
  });
});

describe('spendgate: bad command lines', () => {
  it('an unknown command goes to stderr with the list of commands, exit 2', async () => {
    const result = await cli('bogus');

    expect(result).toEqual({
      code: 2,
      out: '',
      err: `error: unknown command "bogus"\n${overview()}`,
    });
  });

  it('takes no name of an object property for a command', async () => {
    expect((await cli('toString')).err.split('\n')[0]).toBe('error: unknown command "toString"');
  });

  it('no command at all is a usage error too', async () => {
    expect(await cli()).toEqual({
      code: 2,
      out: '',
      err: `error: no command given\n${overview()}`,
    });
  });

  it.each(Object.keys(COMMANDS))(
    '%s refuses an unknown option in one line, then its usage, exit 2',
    async (name) => {
      const result = await cli(name, '--bogus');

      expect(result).toEqual({
        code: 2,
        out: '',
        err: `error: unknown option --bogus\n${commandUsage(name)}`,
      });
    },
  );

  it('says which option lacks its value, or takes none', async () => {
    expect((await cli('report', '--since')).err.split('\n')[0]).toBe(
      'error: --since needs a value',
    );
    expect((await cli('init', '--force=yes')).err.split('\n')[0]).toBe(
      'error: --force takes no value',
    );
  });

  it('refuses numbers that are not whole, and missing arguments, with exit 2', async () => {
    const port = await cli('serve', '--port', 'eighty');
    const top = await cli('report', '--top', '0');
    const price = await cli('price', 'gpt-4o', '--input', '1.5');
    const model = await cli('price');
    const replay = await cli('replay');
    const extra = await cli('validate', 'a.yaml', 'b.yaml');

    expect([port, top, price, model, replay, extra].map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2]);
    expect([port, top, price, model, replay, extra].map((r) => r.err.split('\n')[0])).toEqual([
      'error: --port must be a whole number of at least 0, got "eighty"',
      'error: --top must be a whole number of at least 1, got "0"',
      'error: --input must be a whole number of at least 0, got "1.5"',
      'error: price needs a model name',
      'error: --policy <new.yaml> is required',
      'error: unexpected argument "b.yaml"',
    ]);
  });

  it('refuses export and report arguments it cannot use with exit 2, before reading a ledger', async () => {
    const format = await cli('export', '--format', 'xml', '--config', MISSING);
    const from = await cli(
      'export',
      '--format',
      'csv',
      '--from',
      '2026-02-30',
      '--config',
      MISSING,
    );
    const split = await cli('export', '--format', 'json', '--split-dir', 'x', '--config', MISSING);
    const by = await cli('report', '--by', 'planet', '--config', MISSING);

    expect([format, from, split, by].map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect([format, from, split, by].map((r) => r.err)).toEqual([
      `error: --format must be one of csv, json, ndjson, focus\n${commandUsage('export')}`,
      `error: --from: not an ISO 8601 time: 2026-02-30\n${commandUsage('export')}`,
      `error: --split-dir applies to csv and focus exports\n${commandUsage('export')}`,
      'error: --by must be one of org, team, user, endpoint, model, provider, upstream, key or ' +
        `tag:<name>\n${commandUsage('report')}`,
    ]);
  });

  it('price: exit 3 for a model with no price, after saying so; 2 for cached past input', async () => {
    const unpriced = await cli('price', 'no-such-model-7b', '--input', '10', '--config', MISSING);
    const parts = await cli(
      'price',
      'gpt-4o',
      '--input',
      '10',
      '--cached',
      '8',
      '--cache-write',
      '3',
    );

    expect(unpriced.code).toBe(3);
    expect(unpriced.out).toContain('no-such-model-7b');
    expect(parts.code).toBe(2);
    expect(parts.err.split('\n')[0]).toBe(
      'error: --cached and --cache-write are parts of --input; their sum cannot exceed it',
    );
  });

  it('says a config file is missing and how to write one, exit 1', async () => {
    const result = await cli('report', '--config', MISSING);

    expect(result).toEqual({
      code: 1,
      out: '',
      err: `error: no config file at ${MISSING}; write one with \`spendgate init\``,
    });
  });
});
