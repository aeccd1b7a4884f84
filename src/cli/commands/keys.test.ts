import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fakeClock } from '../../clock.js';
import { listKeys } from '../../identity/index.js';
import { runKeys } from './keys.js';

const NOW_MS = Date.parse('2026-02-01T09:30:00Z');

function setup() {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-cli-keys-')), 'keys.yaml');
  const lines: string[] = [];
  const errors: string[] = [];
  const run = (...args: string[]) =>
    runKeys(args, {
      file,
      out: (line) => lines.push(line),
      err: (line) => errors.push(line),
      clock: fakeClock(NOW_MS),
    });
  return { file, lines, errors, run };
}

describe('spendgate keys: create, list, revoke', () => {
  it('prints a new key once with a warning and stores only its hash', async () => {
    const { file, lines, run } = setup();

    const code = await run('create', '--org', 'acme', '--team', 'search', '--tag', 'app=rag');

    expect(code).toBe(0);
    const [record] = listKeys(file);
    expect(lines[0]).toBe(`Created key ${record?.id} (org=acme team=search tag.app=rag)`);
    const key = lines[2]?.trim() ?? '';
    expect(key).toMatch(/^sg-[A-Za-z0-9_-]{43}$/);
    expect(lines[4]).toBe(
      'Store this key now: it cannot be shown again. Spendgate keeps only its hash.',
    );
    expect(readFileSync(file, 'utf8')).not.toContain(key);
    expect(record).toMatchObject({ org: 'acme', team: 'search', tags: { app: 'rag' } });
  });

  it('lists keys as a table without hashes', async () => {
    const { file, lines, run } = setup();
    await run('create', '--user', 'ana');
    lines.length = 0;
    const [record] = listKeys(file);

    expect(await run('list')).toBe(0);

    expect(lines).toEqual([
      'ID                ORG  TEAM  USER  TAGS  CREATED                   REVOKED',
      `${record?.id}  -    -     ana   -     2026-02-01T09:30:00.000Z  -`,
    ]);
    expect(lines.join('\n')).not.toContain(record?.hash ?? 'no hash');
  });

  it('revokes a key by id and shows the revocation in the list', async () => {
    const { file, lines, run } = setup();
    await run('create', '--org', 'acme');
    const id = listKeys(file)[0]?.id ?? '';
    lines.length = 0;

    expect(await run('revoke', id)).toBe(0);

    expect(lines).toEqual([`Revoked key ${id} at 2026-02-01T09:30:00.000Z.`]);
    expect(listKeys(file)[0]?.revoked_at).toBe('2026-02-01T09:30:00.000Z');
  });

  it('says so when the list is empty', async () => {
    const { file, lines, run } = setup();

    expect(await run('list')).toBe(0);

    expect(lines).toEqual([`No keys in ${file}.`]);
  });
});

describe('spendgate keys: bad input', () => {
  it('exits 1 when revoking an unknown id', async () => {
    const { file, errors, run } = setup();

    expect(await run('revoke', 'key_000000000000')).toBe(1);

    expect(errors).toEqual([`error: no key with id key_000000000000 in ${file}`]);
  });

  it('exits 2 with usage for an unknown subcommand, a bad tag or an unknown flag', async () => {
    const { errors, run } = setup();

    expect(await run('rotate')).toBe(2);
    expect(await run('create', '--tag', 'novalue')).toBe(2);
    expect(await run('create', '--email', 'x')).toBe(2);

    expect(errors.filter((line) => line.startsWith('error:'))).toEqual([
      'error: unknown subcommand "rotate"',
      'error: --tag needs name=value, got "novalue"',
      'error: unknown option --email',
    ]);
    expect(errors).toContain(
      'usage: spendgate keys create [--org O] [--team T] [--user U] [--tag name=value ...]',
    );
  });

  it('prints its usage and exits 0 for --help, creating nothing', async () => {
    const { file, lines, errors, run } = setup();

    expect(await run('create', '--org', 'acme', '--help')).toBe(0);

    expect(lines).toEqual([
      [
        'usage: spendgate keys create [--org O] [--team T] [--user U] [--tag name=value ...]',
        '       spendgate keys list',
        '       spendgate keys revoke <id>',
        '',
        '  virtual keys: a new key is printed once; the keys file keeps only its hash',
      ].join('\n'),
    ]);
    expect(errors).toEqual([]);
    expect(listKeys(file)).toEqual([]);
  });

  it('exits 1 for an attribution value that is empty', async () => {
    const { errors, run } = setup();

    expect(await run('create', '--org', ' ')).toBe(1);

    expect(errors[0]).toMatch(/^error: invalid key org: /);
  });
});
