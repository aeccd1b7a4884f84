import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server this test started on its own port, to stop and start again. */
export type OwnedRedis = {
  readonly port: number;
  /** The running server's PID, or null while stopped. */
  pid(): number | null;
  /** Saves the data to the server's folder, then ends the process by its PID. */
  stop(): Promise<void>;
  /** Starts the server again on the same port; it loads what `stop` saved. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open but nothing is answered. */
  pause(): void;
  /** Lets a paused process run again (SIGCONT); it then answers what it was sent meanwhile. */
  resume(): void;
  /** Stops it for good and removes its folder. */
  destroy(): Promise<void>;
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`redis-server not ready: ${seen}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${seen}`));
    });
  });
}

/**
 * Starts `redis-server --port N --save '' --appendonly no` in a fresh folder. Nothing is saved
 * on its own; `stop` saves explicitly so a restart keeps the counters, as a persistent
 * production Redis would.
 */
export async function startOwnedRedis(): Promise<OwnedRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-redis-'));
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    await waitForReady(proc, 5_000);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === null || proc.pid === undefined) return;
    const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
    admin.on('error', () => undefined);
    try {
      await admin.save();
    } finally {
      admin.disconnect();
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(proc.pid, 'SIGTERM');
    await exited;
    child = null;
  };

  const signal = (name: NodeJS.Signals): void => {
    const pid = (child as ChildProcess | null)?.pid;
    if (pid === undefined) throw new Error('the test redis-server is not running');
    process.kill(pid, name);
  };

  await start();
  return {
    port,
    pid: () => (child as ChildProcess | null)?.pid ?? null,
    stop,
    start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async destroy() {
      const proc = child;
      if (proc !== null && proc.pid !== undefined && proc.exitCode === null) {
        process.kill(proc.pid, 'SIGCONT');
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        process.kill(proc.pid, 'SIGKILL');
        await exited;
      }
      child = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
