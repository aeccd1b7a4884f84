/** The kinds of events `GET /api/v1/events?type=` can filter on. Public names: never renamed. */
export const EVENT_TYPES = [
  'rejection',
  'warning',
  'throttle',
  'shadow_rejection',
  'budget_threshold',
  'kill_switch_created',
  'kill_switch_deleted',
  'anomaly',
  'breaker_opened',
  'breaker_closed',
  'loop_detected',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** One event: something an operator may want to see or be alerted about. */
export type GatewayEvent = {
  id: string;
  timestampMs: number;
  type: EventType;
  /** The dimension values the event is about (`org`, `team`, ...), for scoped admin tokens. */
  scope: Record<string, string>;
  message: string;
  data: Record<string, unknown>;
  /** The admin token name that caused it, for admin actions. */
  actor: string | null;
};

export type EventFilter = {
  type?: EventType;
  sinceMs?: number;
  scope?: Record<string, string>;
  limit: number;
};

/** Where events are kept: appended without waiting (written with the ledger's batches), read newest first. */
export interface EventLog {
  append(event: GatewayEvent): void;
  query(filter: EventFilter): Promise<GatewayEvent[]>;
}
