import { GatewayError } from '../../errors.js';

// SQLSTATE classes and codes that mean "the server cannot be used right now", not "this
// statement is wrong": connection exceptions, shutdown, too many clients, recovery, and a
// statement cancelled for taking too long (a row is never set aside for a slow database).
const UNAVAILABLE_CLASSES = ['08', '53', '57P'];
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57014',
]);
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /connection timeout/i,
  /query read timeout/i,
  /client has encountered a connection error/i,
  /not queryable/i,
];

/**
 * Whether an error from `pg` means the database cannot be reached (or is shutting down), so
 * rows go to the spool and reads answer 503, rather than a bug in a statement.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof LedgerUnavailable) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_CODES.has(code)) return true;
    if (UNAVAILABLE_CLASSES.some((prefix) => code.startsWith(prefix))) return true;
  }
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(err.message));
}

/**
 * The error reads and admin writes fail with while the database is out: a 503 with the
 * `store_unavailable` code on the admin API. The message never holds the URL (it may hold a
 * password).
 */
export class LedgerUnavailable extends GatewayError {
  constructor(cause?: unknown) {
    super(
      'store_unavailable',
      'the ledger database (PostgreSQL) cannot be reached; try again shortly',
      { cause },
    );
  }
}

// The SQLSTATE classes of a statement refused for its data: a value out of range, a broken
// constraint, a value too large for an index. Only these can be one row's fault.
const REFUSAL_CLASSES = ['22', '23', '54'];

/**
 * Whether the database refused a write because of what one of its rows holds. Anything else (a
 * lost connection, a wrong password, a missing database, a slow server) is an outage for the
 * writer: rows wait in the spool until a later attempt works, and are never set aside.
 */
export function isRefusal(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && REFUSAL_CLASSES.some((prefix) => code.startsWith(prefix));
}

/** A statement that ran past its time limit (cancelled by the server, or given up on). */
export function isTimeout(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (err as { code?: unknown }).code === '57014' || /query read timeout/i.test(err.message);
}

/** Rethrows a database error as {@link LedgerUnavailable} when the database is out. */
export function asLedgerError(err: unknown): unknown {
  if (err instanceof LedgerUnavailable) return err;
  return isUnavailable(err) ? new LedgerUnavailable(err) : err;
}

/**
 * A database that answers but cannot be used as configured: it does not exist, it refuses the
 * user or password, or the user lacks a permission the ledger needs. Retrying never helps, so a
 * start stops on it. The message names the host, port, user and database, never the password.
 */
export class LedgerMisconfigured extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'LedgerMisconfigured';
  }
}

/** Where a ledger URL points, without its password: for messages. */
export type LedgerAddress = { hostPort: string; user: string | null; database: string | null };

/** The parts of a `postgres://` URL a message may show. */
export function ledgerAddress(url: string): LedgerAddress {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost';
    const user = decodeURIComponent(parsed.username) || null;
    return {
      hostPort: `${host}:${parsed.port || '5432'}`,
      user,
      database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || user,
    };
  } catch {
    return { hostPort: 'the configured server', user: null, database: null };
  }
}

/**
 * The error a person has to act on, in words, for SQLSTATE codes that mean the URL (or the
 * server's setup) is wrong; null for anything else.
 */
export function asMisconfigured(err: unknown, at: LedgerAddress): LedgerMisconfigured | null {
  if (err instanceof LedgerMisconfigured) return err;
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  const user = at.user === null ? 'the default user' : `user "${at.user}"`;
  const prefix = 'storage.ledger: PostgreSQL';
  switch (code) {
    case '3D000': {
      const name = /database "([^"]*)"/.exec(err.message)?.[1] ?? at.database ?? '';
      return new LedgerMisconfigured(
        `${prefix} database "${name}" does not exist on ${at.hostPort} (create it, or fix the URL)`,
        err,
      );
    }
    case '28P01':
      return new LedgerMisconfigured(
        `${prefix} on ${at.hostPort} refused the password of ${user} (fix the password in the URL)`,
        err,
      );
    case '28000':
      // "role ... does not exist" or "no pg_hba.conf entry ...": the server's words say which.
      return new LedgerMisconfigured(
        `${prefix} on ${at.hostPort} refused ${user}: ${err.message}`,
        err,
      );
    case '42501':
      return new LedgerMisconfigured(
        `${prefix} ${user} lacks a permission in database "${at.database ?? ''}" on ` +
          `${at.hostPort}: ${err.message}`,
        err,
      );
    default:
      return null;
  }
}
