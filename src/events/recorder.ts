import { timeOrderedId } from '../ledger/ids.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import type { EventLog, EventType, GatewayEvent } from './event.js';

/**
 * How often one kind of per-request event is recorded per `dedupeKey` (for a warning: per org,
 * team and user).
 */
const REPEAT_WINDOW_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/**
 * Records events with ids and times, and logs each once. Per-request events that repeat (every
 * request of a tenant past its warn stage) are recorded once a minute per `dedupeKey`, so the
 * event log shows who and when without a row per request — the ledger has those.
 */
export class EventRecorder {
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  record(
    type: EventType,
    message: string,
    fields: {
      scope?: Record<string, string>;
      data?: Record<string, unknown>;
      actor?: string | null;
      dedupeKey?: string;
    },
  ): GatewayEvent | null {
    const nowMs = this.clock.now();
    if (fields.dedupeKey !== undefined) {
      const key = `${type}\u0000${fields.dedupeKey}`;
      const last = this.lastSeen.get(key);
      if (last !== undefined && nowMs - last < REPEAT_WINDOW_MS) return null;
      if (this.lastSeen.size >= MAX_REMEMBERED) this.lastSeen.clear();
      this.lastSeen.set(key, nowMs);
    }

    const event: GatewayEvent = {
      id: timeOrderedId(nowMs),
      timestampMs: nowMs,
      type,
      scope: fields.scope ?? {},
      message,
      data: fields.data ?? {},
      actor: fields.actor ?? null,
    };
    this.log.append(event);
    this.logger.info({ event: `event.${type}`, scope: event.scope, actor: event.actor }, message);
    return event;
  }
}
