/**
 * Starts and stops the bench's processes. Each runs on its own so its CPU is its own; each is
 * stopped by its PID at the end, and nothing else is touched.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PhaseRequest, PhaseResult } from './loadgen.js';

const TSX = ['--import', 'tsx'];
const READY_TIMEOUT_MS = 30_000;

/** A started process of the bench. */
export type BenchChild = { name: string; pid: number; proc: ChildProcess };

/** A started gateway: its port and what it logged. */
export type GatewayChild = BenchChild & {
  port: number;
  logLines: () => number;
  problems: string[];
};

function libFile(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: no answer in time`)),
      READY_TIMEOUT_MS,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Forks one of the bench's own helpers and waits for its `ready` message. */
export async function startHelper(
  name: string,
  file: string,
  args: string[] = [],
): Promise<BenchChild & { port: number }> {
  const proc = fork(libFile(file), args, {
    execArgv: TSX,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = new Promise<{ port: number }>((resolve, reject) => {
    proc.once('message', (message: { type: string; port?: number }) =>
      resolve({ port: message.port ?? 0 }),
    );
    proc.once('exit', (code) =>
      reject(new Error(`${name} exited with ${code} before it was ready`)),
    );
  });
  const { port } = await withTimeout(ready, name);
  return { name, pid: proc.pid ?? 0, proc, port };
}

/**
 * Starts the built `spendgate serve` (bin/ → dist/, as users run it; `npm run bench` builds
 * first), or another build's `bin` when given, and waits for its `gateway.started` log line.
 */
export async function startGateway(
  configFile: string,
  nodeFlags: string[],
  bin = fileURLToPath(new URL('../../bin/spendgate.js', import.meta.url)),
): Promise<GatewayChild> {
  const args = [...nodeFlags, bin, 'serve', '--config', configFile];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const problems: string[] = [];
  let lines = 0;

  const started = new Promise<number>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines += 1;
      let entry: { event?: string; port?: number; level?: string; msg?: string } = {};
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        problems.push(`not JSON: ${line.slice(0, 200)}`);
      }
      if (entry.event === 'gateway.started') resolve(entry.port ?? 0);
      if ((entry.level === 'warn' || entry.level === 'error') && problems.length < 20) {
        problems.push(`${entry.level} ${entry.event ?? ''}: ${entry.msg ?? ''}`);
      }
    });
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      if (problems.length < 20) problems.push(`stderr: ${line.slice(0, 300)}`);
    });
    proc.once('exit', (code) =>
      reject(new Error(`gateway exited with ${code}: ${problems.join('; ')}`)),
    );
  });
  const port = await withTimeout(started, 'gateway');
  return { name: 'gateway', pid: proc.pid ?? 0, proc, port, logLines: () => lines, problems };
}

/** Sends one phase to the load generator and waits for its summary. */
export function runPhase(loadgen: BenchChild, phase: PhaseRequest): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => {
      reject(new Error(`load generator exited with ${code}`));
    };
    const onMessage = (message: PhaseResult): void => {
      if (message.id !== phase.id) return;
      loadgen.proc.off('message', onMessage);
      loadgen.proc.off('exit', onExit);
      resolve(message);
    };
    loadgen.proc.on('message', onMessage);
    loadgen.proc.once('exit', onExit);
    loadgen.proc.send(phase);
  });
}

/** Stops one process by its PID: SIGTERM, then SIGKILL if it has not exited in 10 s. */
export async function stopChild(child: BenchChild): Promise<number | null> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return child.proc.exitCode;
  const exited = new Promise<number | null>((resolve) =>
    child.proc.once('exit', (code) => resolve(code)),
  );
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.proc.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
