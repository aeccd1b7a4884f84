import type { Logger } from '../../log/logger.js';
import type { LedgerHealth } from '../ledger.js';
import { isRefusal, LedgerUnavailable } from './errors.js';
import type { LedgerItem, Spool } from './spool.js';

/** What the writer needs from the database side. */
export type WriterTarget = {
  /** Writes a batch in one transaction; throws when the database did not take it. */
  write(items: readonly LedgerItem[]): Promise<void>;
  /** Checks the database answers (and is migrated). */
  probe(): Promise<void>;
  /** Whether an idle writer should still probe (the schema is not migrated yet). */
  needsProbe(): boolean;
};

export type SpoolingWriterOptions = {
  logger: Logger;
  /** Null: no spool (a ledger that only reads); a flush during an outage then fails. */
  spool: Spool | null;
  batchSize: number;
  flushIntervalMs: number;
  retryMs: number;
};

type Waiter = { seq: number; resolve: () => void; reject: (err: unknown) => void };

/**
 * The ledger's write side: items queued on the request path, written in batches by one
 * writer at a time, and kept in the spool (fsync'd) while the database is out, then written
 * back from it in order. It knows nothing of SQL; the target writes a batch.
 */
export class SpoolingWriter {
  private readonly logger: Logger;
  private readonly spool: Spool | null;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly retryMs: number;
  private queue: { item: LedgerItem; seq: number }[] = [];
  private appended = 0;
  private durable = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerDueMs = 0;
  private pumping: Promise<void> | null = null;
  private rerun = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** The outage being ridden out, if any: logged once when it starts and once when it ends. */
  private down: { sinceMs: number } | null = null;
  /** A batch was refused while the database answered (logged once). */
  private refusing = false;
  private nextAttemptMs = 0;

  constructor(
    private readonly target: WriterTarget,
    opts: SpoolingWriterOptions,
  ) {
    this.logger = opts.logger;
    this.spool = opts.spool;
    this.batchSize = opts.batchSize;
    this.flushIntervalMs = opts.flushIntervalMs;
    this.retryMs = opts.retryMs;
    if (this.spool && this.spool.rows() > 0) {
      this.logger.info(
        { event: 'ledger.spool_found', rows: this.spool.rows() },
        'rows spooled before the last stop are written to the ledger database now',
      );
    }
    // Migrate (and replay a spool left by a crash) at once, not at the first request.
    this.schedule(0);
  }

  /** Items not yet in the database: queued in memory or spooled. */
  pending(): number {
    return this.queue.length + (this.spool?.rows() ?? 0);
  }

  health(): LedgerHealth {
    const spooledRows = this.spool?.rows() ?? 0;
    if (this.down) return { state: 'down', spooledRows };
    return { state: spooledRows > 0 ? 'replaying' : 'ok', spooledRows };
  }

  isDown(): boolean {
    return this.down !== null;
  }

  /** A read found the database out: later reads fail at once until the writer's probe works. */
  reportOutage(err: unknown): void {
    this.markDown(err);
    this.nextAttemptMs = Date.now() + this.retryMs;
    this.schedule(this.retryMs);
  }

  /** Resolves once every item appended before the call is in the database or the spool. */
  flush(): Promise<void> {
    const seq = this.appended;
    if (this.durable >= seq) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) =>
      this.waiters.push({ seq, resolve, reject }),
    );
    this.schedule(0);
    return done;
  }

  /** Writes what it can and keeps the rest in the spool; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.pumping;
    // The last rows: to the database if it answers, else to the spool for the next start.
    if (this.queue.length > 0) {
      this.nextAttemptMs = 0;
      await this.pump();
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.queue.length > 0) {
      this.logger.error(
        { event: 'ledger.rows_unwritten', rows: this.queue.length },
        'ledger closed with rows it could not write',
      );
    }
    const spooled = this.spool?.rows() ?? 0;
    if (spooled > 0) {
      this.logger.warn(
        { event: 'ledger.spool_kept', rows: spooled },
        'ledger closed with spooled rows; they are written at the next start',
      );
    }
    this.spool?.close();
    for (const waiter of this.waiters.splice(0)) waiter.reject(new LedgerUnavailable());
  }

  enqueue(item: LedgerItem): void {
    this.appended++;
    this.queue.push({ item, seq: this.appended });
    // A full batch is written on the next turn of the event loop, never inside the request.
    this.schedule(this.queue.length >= this.batchSize ? 0 : this.flushIntervalMs);
  }

  /** Runs the writer after `delayMs`, or sooner if it is already due sooner. */
  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.pumping) {
      this.rerun = true;
      return;
    }
    const dueMs = Date.now() + delayMs;
    if (this.timer && this.timerDueMs <= dueMs) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueMs = dueMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pump();
    }, delayMs);
    this.timer.unref();
  }

  /** One writer at a time: batches, spool appends and replays never overlap. */
  private pump(): Promise<void> {
    this.pumping ??= this.drain()
      .catch((err: unknown) => {
        this.logger.error(
          { event: 'ledger.writer_failed', err: (err as Error).message },
          'ledger writer failed; retrying',
        );
        this.nextAttemptMs = Date.now() + this.retryMs;
      })
      .finally(() => {
        this.pumping = null;
        const again = this.rerun || this.queue.length > 0 || this.down !== null;
        this.rerun = false;
        if (again) this.schedule(Math.max(0, this.nextAttemptMs - Date.now()));
        else if (this.spool && this.spool.rows() > 0) this.schedule(this.retryMs);
      });
    return this.pumping;
  }

  /**
   * Writes until nothing is left or the database is out. While the spool holds rows, new rows
   * join it behind them, so the database receives everything in the order it was appended.
   */
  private async drain(): Promise<void> {
    for (;;) {
      this.rerun = false;
      const mayTry = Date.now() >= this.nextAttemptMs;

      if (this.spool && (this.spool.rows() > 0 || this.down)) {
        await this.spoolQueued();
        if (!mayTry) return;
        const ok =
          this.spool.rows() > 0
            ? await this.replayBatch()
            : await this.attempt(() => this.target.probe());
        if (!ok) return;
        continue;
      }
      if (!mayTry) return;
      if (this.queue.length === 0) {
        // Migrate at start; without a spool, probe an outage here so reads resume after it.
        if (this.target.needsProbe() || this.down) await this.attempt(() => this.target.probe());
        return;
      }

      const batch = this.queue.slice(0, this.batchSize);
      if (await this.attempt(() => this.target.write(batch.map((b) => b.item)))) {
        this.queue.splice(0, batch.length);
        this.settled(batch[batch.length - 1]?.seq ?? 0);
        continue;
      }
      if (!this.spool) {
        this.failWaiters();
        return;
      }
      // The rows are safe once fsync'd in the spool; it is replayed when the database answers.
      await this.spoolQueued();
    }
  }

  /**
   * Runs a database step; on failure logs it once (an outage, or a refusal) and resolves false.
   * The next attempt waits `retryMs`.
   */
  private async attempt(step: () => Promise<void>): Promise<boolean> {
    try {
      await step();
      this.markUp();
      return true;
    } catch (err) {
      this.nextAttemptMs = Date.now() + this.retryMs;
      if (!isRefusal(err)) {
        this.markDown(err);
      } else if (!this.refusing) {
        this.refusing = true;
        this.logger.error(
          { event: 'ledger.flush_failed', err: (err as Error).message },
          'the ledger database refused a batch; its rows are spooled and retried one by one',
        );
      }
      return false;
    }
  }

  /** Replays the spool's next batch; false when the database did not take it. */
  private async replayBatch(): Promise<boolean> {
    const spool = this.spool as Spool;
    const next = await spool.next(this.batchSize);
    if (next.invalid.length > 0) {
      for (const line of next.invalid) {
        await spool.rejectLine(line, 'the spool line is not a whole ledger row or event');
      }
      this.logger.error(
        { event: 'ledger.spool_invalid', lines: next.invalid.length },
        'damaged spool lines cannot be written; they were set aside in ledger-rejected.ndjson',
      );
    }
    let ok = await this.attempt(() => this.target.write(next.items));
    // Refused while the database answers: one item it can never take must not hold back the
    // rest, so the batch goes one item at a time and refused items are set aside.
    if (!ok && !this.down) ok = await this.replayOneByOne(next.items);
    if (!ok) return false;

    // Only after the batch committed: a crash before this line replays it again, harmlessly.
    await spool.committed(next.end, next.lines);
    if (spool.rows() === 0) {
      this.logger.info({ event: 'ledger.spool_replayed' }, 'every spooled row is in the ledger');
    }
    return true;
  }

  private async replayOneByOne(items: readonly LedgerItem[]): Promise<boolean> {
    const spool = this.spool as Spool;
    for (const item of items) {
      try {
        await this.target.write([item]);
      } catch (err) {
        if (!isRefusal(err)) {
          this.markDown(err);
          return false;
        }
        await spool.reject(item, (err as Error).message);
        this.logger.error(
          {
            event: 'ledger.row_rejected',
            err: (err as Error).message,
            requestId: 'row' in item ? item.row.requestId : undefined,
            eventId: 'event' in item ? item.event.id : undefined,
          },
          'the ledger database refuses an item; it was set aside in ledger-rejected.ndjson',
        );
      }
    }
    this.nextAttemptMs = 0;
    this.refusing = false;
    return true;
  }

  /** Moves every queued item to the spool; they count as durable once it is on disk. */
  private async spoolQueued(): Promise<void> {
    if (!this.spool || this.queue.length === 0) return;
    const batch = this.queue.slice();
    try {
      await this.spool.append(batch.map((b) => b.item));
    } catch (err) {
      this.logger.error(
        { event: 'ledger.spool_failed', err: (err as Error).message, rows: batch.length },
        'ledger rows could not be spooled; kept in memory and retried',
      );
      return;
    }
    this.queue.splice(0, batch.length);
    this.settled(batch[batch.length - 1]?.seq ?? 0);
  }

  private settled(seq: number): void {
    this.durable = Math.max(this.durable, seq);
    this.waiters = this.waiters.filter((w) => {
      if (w.seq > this.durable) return true;
      w.resolve();
      return false;
    });
  }

  /** Without a spool, `flush` cannot promise durability during an outage: it fails instead. */
  private failWaiters(): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(new LedgerUnavailable());
  }

  private markDown(err: unknown): void {
    if (this.down) return;
    const message = (err as Error).message;
    this.down = { sinceMs: Date.now() };
    this.logger.warn(
      { event: 'ledger.down', err: message, spool: this.spool !== null },
      'the ledger database cannot be reached; rows go to the local spool until it can',
    );
  }

  private markUp(): void {
    if (this.refusing) {
      this.refusing = false;
      this.logger.info({ event: 'ledger.flush_recovered' }, 'ledger writes succeed again');
    }
    if (!this.down) return;
    const downMs = Date.now() - this.down.sinceMs;
    this.down = null;
    this.logger.info(
      { event: 'ledger.up', down_ms: downMs, spooled_rows: this.spool?.rows() ?? 0 },
      'the ledger database answers again',
    );
  }
}
