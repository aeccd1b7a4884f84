import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createLogger, type Logger } from '../../src/log/logger.js';

/** The shared PostgreSQL of the test machine (trust auth); tests only create databases on it. */
const SHARED = { host: '127.0.0.1', port: 5432, database: 'test' };
const BIN = '/usr/lib/postgresql/15/bin';

/** A database of its own for one test run, on the shared server; `drop` removes it. */
export type TestDatabase = { url: string; name: string; drop(): Promise<void> };

async function sharedAdmin(): Promise<pg.Client> {
  // Whichever superuser the machine has: `postgres`, or `root` on some images.
  let last: unknown;
  for (const user of ['postgres', 'root']) {
    const client = new pg.Client({ ...SHARED, user, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      return client;
    } catch (err) {
      last = err;
      await client.end().catch(() => undefined);
    }
  }
  throw last;
}

/** Creates `<prefix>_<random>` (default `sg_test`) on 127.0.0.1:5432. */
export async function createTestDatabase(prefix = 'sg_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = await sharedAdmin();
  const user = admin.user as string;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: `postgres://${user}@${SHARED.host}:${SHARED.port}/${name}`,
    async drop() {
      const client = await sharedAdmin();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * A PostgreSQL server owned by one test, on its own port and data folder, that the test may
 * stop and start (the shared server is never touched). `destroy` stops it and removes it.
 */
export type OwnPostgres = {
  url: string;
  port: number;
  start(): void;
  stop(): void;
  destroy(): void;
};

function asPostgres(args: string[]): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
}

/** Runs `initdb` (as the postgres user: it refuses root) and starts the server. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  asPostgres([`${BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  let running = false;
  const own: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start() {
      asPostgres([
        `${BIN}/pg_ctl`,
        '-D',
        data,
        '-l',
        join(dir, 'server.log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        '-w',
        '-t',
        '20',
        'start',
      ]);
      running = true;
    },
    stop() {
      asPostgres([`${BIN}/pg_ctl`, '-D', data, '-m', 'fast', '-w', '-t', '20', 'stop']);
      running = false;
    },
    destroy() {
      if (running) own.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  own.start();
  return own;
}

/** A logger whose JSON lines are kept, to check which events were logged and how often. */
export function capturedLogger(): {
  logger: Logger;
  events(name?: string): Record<string, unknown>[];
} {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  return {
    logger,
    events(name) {
      const all = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      return name === undefined ? all : all.filter((e) => e.event === name);
    },
  };
}
