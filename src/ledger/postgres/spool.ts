import {
  closeSync,
  fdatasync,
  fstat,
  fstatSync,
  ftruncate,
  ftruncateSync,
  mkdirSync,
  openSync,
  read,
  readFileSync,
  readSync,
  rmSync,
  write,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { GatewayEvent } from '../../events/event.js';
import type { Logger } from '../../log/logger.js';
import type { LedgerRow } from '../row.js';

/** What the ledger writes: a request's row, or an event. */
export type LedgerItem = { row: LedgerRow } | { event: GatewayEvent };

const writeAsync = promisify(write);
const readAsync = promisify(read);
const datasyncAsync = promisify(fdatasync);
const truncateAsync = promisify(ftruncate);
const fstatAsync = promisify(fstat);

/** The spool's file and lock file names inside `storage.spool_dir`. */
export const SPOOL_FILE = 'ledger-spool.ndjson';
export const LOCK_FILE = 'spool.lock';
/** Items the database refused (not an outage: a row it can never take), kept for a person. */
export const REJECTED_FILE = 'ledger-rejected.ndjson';

// Spool folders held by this process: a second ledger on the same folder would interleave lines.
const held = new Set<string>();

/** One line per item; costs are exact decimal text (JSON numbers lose 64-bit integers). */
export function encodeItem(item: LedgerItem): string {
  return JSON.stringify(item, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * The item a spool line holds. A line that parses but is not a whole row or event (a damaged
 * file) throws like one that does not parse: sent on, it would fail the batch every time and
 * stall the spool behind it, taken for an outage.
 */
export function decodeItem(line: string): LedgerItem {
  const item = JSON.parse(line) as unknown;
  if (isObject(item) && isObject(item.row)) {
    const cost = item.row.costPico;
    if (cost !== null && (typeof cost !== 'string' || !/^-?\d+$/.test(cost))) {
      throw new Error('a spooled row has no valid cost');
    }
    if (!isRowShape(item.row)) throw new Error('a spooled row lacks fields of a ledger row');
    const row = item.row as unknown as Omit<LedgerRow, 'costPico'>;
    return { row: { ...row, costPico: cost === null ? null : BigInt(cost) } };
  }
  if (isObject(item) && isObject(item.event) && isEventShape(item.event)) {
    return { event: item.event as unknown as GatewayEvent };
  }
  throw new Error('a spool line is neither a ledger row nor an event');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ROW_TEXT = ['requestId', 'org', 'team', 'user', 'endpoint', 'provider', 'upstream', 'model'];
const ROW_NULLABLE_TEXT = ['resolvedModel', 'deployment', 'reason', 'priceSource', 'keyId'];
const ROW_NUMBERS = [
  'timestampMs',
  'status',
  'inputTokens',
  'cachedInputTokens',
  'cacheWriteTokens',
  'outputTokens',
  'reasoningTokens',
  'latencyMs',
  'countedInputTokens',
  'countedOutputTokens',
];

/** Whether every field the insert reads is there with its type (the cost is checked apart). */
function isRowShape(row: Record<string, unknown>): boolean {
  return (
    ROW_TEXT.every((k) => typeof row[k] === 'string') &&
    ROW_NULLABLE_TEXT.every((k) => row[k] === null || typeof row[k] === 'string') &&
    ROW_NUMBERS.every((k) => typeof row[k] === 'number' && Number.isFinite(row[k])) &&
    typeof row.decision === 'string' &&
    typeof row.usageSource === 'string' &&
    typeof row.streamed === 'boolean' &&
    Array.isArray(row.flags) &&
    row.flags.every((f) => typeof f === 'string') &&
    isObject(row.tags) &&
    Object.values(row.tags).every((v) => typeof v === 'string')
  );
}

function isEventShape(event: Record<string, unknown>): boolean {
  return (
    typeof event.id === 'string' &&
    typeof event.timestampMs === 'number' &&
    typeof event.type === 'string' &&
    typeof event.message === 'string' &&
    isObject(event.scope) &&
    isObject(event.data) &&
    (event.actor === null || typeof event.actor === 'string')
  );
}

/**
 * The local spool of a database ledger: an append-only NDJSON file of the items the database
 * could not take, fsync'd per batch, read back in order once it can. Only one ledger may use a
 * folder (a lock file holds the owner's pid), and the file is emptied only after every line
 * in it has been committed to the database.
 */
export class Spool {
  private readonly fd: number;
  private readonly path: string;
  private readonly lockPath: string;
  private readonly dir: string;
  /** Bytes of the file already committed to the database in this run. */
  private replayedBytes = 0;
  private sizeBytes: number;
  private unreplayed: number;
  private closed = false;

  constructor(dir: string, logger: Logger) {
    mkdirSync(dir, { recursive: true });
    this.dir = dir;
    this.lockPath = join(dir, LOCK_FILE);
    takeLock(dir, this.lockPath);
    this.path = join(dir, SPOOL_FILE);
    try {
      this.fd = openSync(this.path, 'a+', 0o600);
      this.sizeBytes = dropTornTail(this.fd, logger, this.path);
      this.unreplayed = countLines(this.fd, this.sizeBytes);
    } catch (err) {
      releaseLock(dir, this.lockPath);
      throw err;
    }
  }

  /** Items written and not yet committed to the database. */
  rows(): number {
    return this.unreplayed;
  }

  /** Appends items and waits until they are on disk. */
  async append(items: readonly LedgerItem[]): Promise<void> {
    if (items.length === 0) return;
    const text = `${items.map(encodeItem).join('\n')}\n`;
    const bytes = Buffer.from(text);
    await this.resyncSize();
    let written = 0;
    try {
      while (written < bytes.length) {
        const { bytesWritten } = await writeAsync(this.fd, bytes, written, bytes.length - written);
        written += bytesWritten;
      }
      await datasyncAsync(this.fd);
    } catch (err) {
      // A write cut short (a full disk) leaves part of a line: the next append would be glued to
      // it, and both rows read back as one broken line. Cut it off; the rows stay queued.
      if (written > 0) await truncateAsync(this.fd, this.sizeBytes).catch(() => undefined);
      throw err;
    }
    this.sizeBytes += bytes.length;
    this.unreplayed += items.length;
  }

  /**
   * The file is appended to at its real end. When that is not where this run left it (cut from
   * outside, or a write that failed half-way and could not be undone), the sizes are taken from
   * the file, and a last line left without its newline gets one: glued to the next append, both
   * would read back as one broken line, and the whole row appended after it would be lost.
   */
  private async resyncSize(): Promise<void> {
    const actual = (await fstatAsync(this.fd)).size;
    if (actual === this.sizeBytes) return;
    let size = actual;
    if (size > 0) {
      const last = Buffer.alloc(1);
      await readAsync(this.fd, last, 0, 1, size - 1);
      if (last[0] !== 10) {
        await writeAsync(this.fd, Buffer.from('\n'), 0, 1);
        size++;
      }
    }
    this.sizeBytes = size;
    // Lines before the cut that were committed are written again at worst, which is harmless.
    this.replayedBytes = Math.min(this.replayedBytes, size);
  }

  /**
   * Up to `max` items after the replayed part, in file order, and the offset to pass to
   * {@link committed} once they are in the database. Lines that are not an item (damaged) are
   * returned apart in `invalid`: they can never be written, only set aside.
   */
  async next(
    max: number,
  ): Promise<{ items: LedgerItem[]; end: number; lines: number; invalid: string[] }> {
    const items: LedgerItem[] = [];
    let offset = this.replayedBytes;
    let lines = 0;
    const invalid: string[] = [];
    let chunkSize = 1 << 20;
    while (items.length + invalid.length < max && offset < this.sizeBytes) {
      const length = Math.min(chunkSize, this.sizeBytes - offset);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await readAsync(this.fd, buffer, 0, length, offset);
      const text = buffer.subarray(0, bytesRead);
      let start = 0;
      let newline = text.indexOf(10, start);
      if (newline === -1 && bytesRead === length && offset + length < this.sizeBytes) {
        // One line longer than the chunk: read a bigger one.
        chunkSize *= 4;
        continue;
      }
      if (newline === -1) {
        // The file ends early or without its newline: cut from outside while it was in use
        // (this run wrote whole lines only). The part left of the last line is set aside, and
        // the file is taken to end where it really does, so reading it cannot loop forever.
        const tail = text.toString('utf8');
        if (tail.trim() !== '') invalid.push(tail);
        lines++;
        offset += bytesRead;
        this.sizeBytes = offset;
        break;
      }
      while (newline !== -1 && items.length + invalid.length < max) {
        const line = text.subarray(start, newline).toString('utf8');
        lines++;
        try {
          items.push(decodeItem(line));
        } catch {
          if (line.trim() !== '') invalid.push(line);
        }
        start = newline + 1;
        newline = text.indexOf(10, start);
      }
      offset += start;
    }
    return { items, end: offset, lines, invalid };
  }

  /** Marks the items up to `end` as committed; empties the file once all of it is. */
  async committed(end: number, lines: number): Promise<void> {
    this.replayedBytes = end;
    this.unreplayed = Math.max(0, this.unreplayed - lines);
    if (this.replayedBytes < this.sizeBytes) return;
    await truncateAsync(this.fd, 0);
    await datasyncAsync(this.fd);
    this.replayedBytes = 0;
    this.sizeBytes = 0;
    this.unreplayed = 0;
  }

  /** Sets an item the database refuses aside, with the reason, so it stops blocking the rest. */
  async reject(item: LedgerItem, reason: string): Promise<void> {
    await this.setAside({ reason, item: JSON.parse(encodeItem(item)) as unknown });
  }

  /** Sets a damaged spool line aside as it was, so a person can still read what it held. */
  async rejectLine(line: string, reason: string): Promise<void> {
    await this.setAside({ reason, line });
  }

  private async setAside(entry: Record<string, unknown>): Promise<void> {
    const fd = openSync(join(this.dir, REJECTED_FILE), 'a', 0o600);
    try {
      const line = Buffer.from(`${JSON.stringify(entry)}\n`);
      await writeAsync(fd, line, 0, line.length);
      await datasyncAsync(fd);
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    // Once only: a second close could hit a descriptor number reused by another file.
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    releaseLock(this.dir, this.lockPath);
  }
}

function takeLock(dir: string, lockPath: string): void {
  if (held.has(dir)) throw spoolInUse(dir, process.pid);
  try {
    writeFileSync(lockPath, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = Number(readFileSync(lockPath, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw spoolInUse(dir, owner);
    }
    // Left by a process that is gone (a crash): the spool is ours now.
    writeFileSync(lockPath, String(process.pid), { mode: 0o600 });
  }
  held.add(dir);
}

function releaseLock(dir: string, lockPath: string): void {
  held.delete(dir);
  rmSync(lockPath, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function spoolInUse(dir: string, pid: number): Error {
  return new Error(
    `storage.spool_dir: ${dir} is used by another gateway (pid ${pid}); give each replica its own spool_dir`,
  );
}

/**
 * A crash in the middle of an append leaves a line without its newline; that batch was never
 * reported durable, so the partial line is cut off before anything is appended after it.
 */
function dropTornTail(fd: number, logger: Logger, path: string): number {
  const size = fstatSync(fd).size;
  if (size === 0) return 0;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  if (last[0] === 10) return size;

  const tail = Buffer.alloc(Math.min(size, 1 << 20));
  let keep = 0;
  for (let end = size; end > 0 && keep === 0; end -= tail.length) {
    const start = Math.max(0, end - tail.length);
    const bytesRead = readSync(fd, tail, 0, end - start, start);
    const newline = tail.subarray(0, bytesRead).lastIndexOf(10);
    if (newline !== -1) keep = start + newline + 1;
    if (start === 0) break;
  }
  ftruncateSync(fd, keep);
  logger.warn(
    { event: 'ledger.spool_torn', path, bytes: size - keep },
    'the ledger spool ended in a partial line (a crash during a write); it was cut off',
  );
  return keep;
}

function countLines(fd: number, size: number): number {
  let lines = 0;
  const chunk = Buffer.alloc(1 << 20);
  for (let offset = 0; offset < size; offset += chunk.length) {
    const bytesRead = readSync(fd, chunk, 0, Math.min(chunk.length, size - offset), offset);
    for (let i = chunk.indexOf(10); i !== -1 && i < bytesRead; i = chunk.indexOf(10, i + 1)) {
      lines++;
    }
  }
  return lines;
}
