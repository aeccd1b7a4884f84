/**
 * Per-process CPU and memory read from Linux's /proc, so every process of the bench (the
 * gateway included, which has no IPC hook) is measured the same way, all its threads counted.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

const MICROS_PER_TICK = 1_000_000 / clockTicksPerSecond();

/** The resolution of `cpuMicros`, in microseconds (10 000 with the usual 100 ticks/s). */
export const CPU_RESOLUTION_MICROS = MICROS_PER_TICK;

/** User plus system CPU time a process has used so far, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the numeric fields start after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) * MICROS_PER_TICK;
}

/** A memory line of /proc/<pid>/status (VmHWM = peak RSS, VmRSS = current), in MiB. */
export function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

/**
 * Process CPU time of the whole machine (user + system) and time stolen by the host, in µs.
 * Interrupt time is left out: loopback traffic is handled there and belongs to no process.
 */
export function machineCpuMicros(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0);
  return { busy: busy * MICROS_PER_TICK, steal: (steal ?? 0) * MICROS_PER_TICK };
}
