import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/log/logger.js';

/** A logger whose JSON lines are kept for assertions. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** The `event` fields logged so far, in order. */
export function eventsOf(lines: readonly Record<string, unknown>[]): unknown[] {
  return lines.map((l) => l.event);
}
