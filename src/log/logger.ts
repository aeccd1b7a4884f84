import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The gateway's one logger: JSON lines on stdout, each with a stable `event` name. Only fields
 * written by our own code reach it; request bodies, prompts and credentials are never passed in,
 * and the redaction list is a second guard for header objects that might be logged by mistake.
 */
export function createLogger(
  opts: { level?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      level: opts.level ?? process.env.SPENDGATE_LOG_LEVEL ?? 'info',
      base: { service: 'spendgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'headers.authorization',
          'headers["x-api-key"]',
          'headers["api-key"]',
          'apiKey',
          'token',
          '*.apiKey',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    (opts.destination ?? process.stdout) as pino.DestinationStream,
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
