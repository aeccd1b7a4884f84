/**
 * Rows (and events) the SQLite ledger refuses for what they hold, told apart from failures of
 * the database itself, and set aside in a file next to it so they stop blocking the rows after
 * them. The PostgreSQL ledger does the same with its spool's `ledger-rejected.ndjson`.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { encodeItem, type LedgerItem } from './postgres/spool.js';

// Result codes of a statement refused for its data: a constraint (a STRICT column's type,
// which is also what an integer sum past 64 bits turns into), a datatype mismatch, a value
// too big or a parameter out of range. Anything else (SQLITE_BUSY, SQLITE_IOERR_*,
// SQLITE_FULL, SQLITE_READONLY, ...) is the database's trouble, not one row's.
const REFUSAL_CODES = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/;

/**
 * Whether a failed write is the fault of a row it held, so writing the rows one by one finds it.
 * better-sqlite3 throws a RangeError or TypeError before the statement runs when a value cannot
 * be bound at all: a bigint past 64 bits (a cost above 2^63 - 1 pico-dollars), a string past
 * the length limit, a value of a type SQLite has no column for.
 */
export function isRowRefusal(err: unknown): boolean {
  if (err instanceof RangeError || err instanceof TypeError) return true;
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && REFUSAL_CODES.test(code);
}

/** The file refused items are set aside in: next to the database, `<db>.rejected.ndjson`. */
export function rejectedFileOf(dbPath: string): string | null {
  return dbPath === ':memory:' ? null : `${dbPath}.rejected.ndjson`;
}

/**
 * Appends one refused item, with the database's reason, as a line of JSON (costs as exact
 * decimal text) and waits for it to reach the disk: the item leaves the queue only after this.
 * Rows and events hold no secrets (no keys, tokens or prompts), so the line is written whole.
 * Without a file (`:memory:`), nothing outlives the process anyway: the log line is all.
 */
export function setAside(file: string | null, item: LedgerItem, reason: string): void {
  if (file === null) return;
  const line = Buffer.from(`{"reason":${JSON.stringify(reason)},"item":${encodeItem(item)}}\n`);
  const fd = openSync(file, 'a', 0o600);
  const sizeBefore = fstatSync(fd).size;
  try {
    let written = 0;
    while (written < line.length) written += writeSync(fd, line, written);
    fdatasyncSync(fd);
  } catch (err) {
    // Cut short (a full disk): take the partial line back, or the next one is glued to it.
    try {
      ftruncateSync(fd, sizeBefore);
    } catch {
      // The item stays queued either way; a broken last line is only untidy.
    }
    throw err;
  } finally {
    closeSync(fd);
  }
}
