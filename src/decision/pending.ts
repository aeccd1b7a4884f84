/**
 * Decisions that were allowed and wait for `POST /v1/usage`: each holds its reservation until
 * its usage is reported, or until `decision.usage_timeout` has passed, when the reservation is
 * released and the row written with the flag `usage_unreported`. Ids that stopped waiting are
 * remembered for a while, so a second report is told apart from an unknown id.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import type { Hold } from '../engine/types.js';
import type { ProxyDeps } from '../proxy/deps.js';
import type { RequestRecord } from '../proxy/request-record.js';
import type { Resolution } from '../pricing/index.js';
import type { Operation } from '../providers/types.js';
import { releaseUnreported } from './settle.js';

/**
 * One allowed decision and what settles it: the config it ran on, its row and its hold. Kept
 * small on purpose (no answer headers): a busy gateway holds many of these at once.
 */
export type PendingDecision = {
  readonly deps: ProxyDeps;
  readonly record: RequestRecord;
  readonly hold: Hold;
  /** The metered operation, which names the shape of the usage object to expect. */
  readonly op: Operation;
  readonly countedInput: number;
  /** The rates the decision reserved at (null: unpriced), to check a report before taking it. */
  readonly rates: Resolution['rates'];
};

/** Why an id no longer waits for usage. */
export type Finished = 'reported' | 'expired' | 'rejected' | 'unmetered' | 'disconnected';

/** `decision.usage_timeout` when the config has no `decision` section. */
export const DEFAULT_USAGE_TIMEOUT_MS = 600_000;

/** How often unreported decisions are looked for; a release is at most this late. */
const SWEEP_EVERY_MS = 1_000;

/**
 * Decisions waiting at once. Each holds about 2.3 KB of heap with one budget (its row and its
 * reservation); past this many (a busy gateway whose usage is never reported), the oldest is
 * released early, as if it had timed out, so that memory stays bounded.
 */
export const MAX_WAITING = 100_000;

/** Finished ids remembered for the 409 of a repeated report; older ones answer 404. */
export const MAX_FINISHED = 100_000;

/** How often, at most, the count of released decisions is logged. */
const LOG_EVERY_MS = 60_000;

export type PendingOptions = {
  clock: Clock;
  logger: Logger;
  /** The current config's `decision.usage_timeout`, read at every sweep (reloads change it). */
  usageTimeoutMs: () => number;
  /** @default MAX_WAITING */
  maxWaiting?: number;
  /** @default MAX_FINISHED */
  maxFinished?: number;
};

/** The waiting decisions of one gateway; survives config reloads. */
export class PendingDecisions {
  private readonly waiting = new Map<string, PendingDecision>();
  private readonly finished = new Map<string, Finished>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private releasedSinceLog = 0;
  private loggedAtMs = Number.NEGATIVE_INFINITY;
  private readonly maxWaiting: number;
  private readonly maxFinished: number;

  constructor(private readonly options: PendingOptions) {
    this.maxWaiting = options.maxWaiting ?? MAX_WAITING;
    this.maxFinished = options.maxFinished ?? MAX_FINISHED;
  }

  /** Decisions waiting for their usage. */
  get size(): number {
    return this.waiting.size;
  }

  /** Starts waiting for the usage of an allowed decision. */
  hold(requestId: string, entry: PendingDecision): void {
    if (this.closed) {
      releaseUnreported(entry, this.options.clock.now());
      this.finish(requestId, 'expired');
      return;
    }
    if (this.waiting.size >= this.maxWaiting) this.expireOldest();
    this.waiting.set(requestId, entry);
    this.timer ??= setInterval(() => this.sweep(), SWEEP_EVERY_MS).unref();
  }

  /** The waiting decision of an id, why it stopped waiting, or undefined if unknown. */
  peek(requestId: string): PendingDecision | Finished | undefined {
    this.sweep();
    return this.waiting.get(requestId) ?? this.finished.get(requestId);
  }

  /** Removes a waiting decision whose usage has arrived. */
  take(requestId: string): PendingDecision | undefined {
    const entry = this.waiting.get(requestId);
    if (entry === undefined) return undefined;
    this.waiting.delete(requestId);
    this.finish(requestId, 'reported');
    return entry;
  }

  /** Remembers an id that never waited (rejected, unmetered) or stopped waiting. */
  finish(requestId: string, why: Finished): void {
    if (this.finished.size >= this.maxFinished) {
      const oldest = this.finished.keys().next();
      if (!oldest.done) this.finished.delete(oldest.value);
    }
    this.finished.set(requestId, why);
  }

  /** Releases every decision older than the usage timeout; returns how many. */
  sweep(): number {
    const nowMs = this.options.clock.now();
    const timeoutMs = this.options.usageTimeoutMs();
    let released = 0;
    // Insertion order is admission order, so the expired ones are all at the front.
    for (const [requestId, entry] of this.waiting) {
      if (nowMs - entry.record.row.timestampMs < timeoutMs) break;
      this.waiting.delete(requestId);
      releaseUnreported(entry, nowMs);
      this.finish(requestId, 'expired');
      released++;
    }
    if (released > 0) this.noteReleased(released, nowMs);
    return released;
  }

  /**
   * At shutdown: every decision still waiting gets its row now, released as unreported, so no
   * decision is lost and no reservation outlives the process.
   */
  close(): number {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const nowMs = this.options.clock.now();
    const count = this.waiting.size;
    // No report can arrive any more, so the ids are not remembered.
    for (const entry of this.waiting.values()) releaseUnreported(entry, nowMs);
    this.waiting.clear();
    if (count > 0) {
      this.options.logger.info(
        { event: 'decision.released_at_shutdown', released: count },
        'decisions without reported usage were recorded as released at shutdown',
      );
    }
    return count;
  }

  private expireOldest(): void {
    const oldest = this.waiting.entries().next();
    if (oldest.done) return;
    const [requestId, entry] = oldest.value;
    this.waiting.delete(requestId);
    const nowMs = this.options.clock.now();
    releaseUnreported(entry, nowMs);
    this.finish(requestId, 'expired');
    this.noteReleased(1, nowMs);
  }

  private noteReleased(count: number, nowMs: number): void {
    this.releasedSinceLog += count;
    if (nowMs - this.loggedAtMs < LOG_EVERY_MS) return;
    this.options.logger.info(
      {
        event: 'decision.usage_unreported',
        released: this.releasedSinceLog,
        waiting: this.waiting.size,
      },
      'decisions whose usage was not reported in time were released',
    );
    this.releasedSinceLog = 0;
    this.loggedAtMs = nowMs;
  }
}
