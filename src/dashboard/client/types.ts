/** The admin API answers the dashboard reads, as parsed by `parseApiJson` (money as bigints). */

/** One row of `GET /api/v1/spend`: its group values, maybe a bucket, sums. */
export type SpendRow = {
  [dimension: string]: unknown;
  bucket?: string;
  cost_usd: bigint;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  /** Requests to a model with no price: their cost is unknown and not in `cost_usd`. */
  unpriced_requests: number;
};

export type SpendAnswer = { data: SpendRow[]; total_groups?: number };

/** One budget instance of `GET /api/v1/budgets`. */
export type BudgetRow = {
  name: string;
  scope: Record<string, string>;
  mode: 'enforce' | 'shadow';
  spent_usd: bigint;
  reserved_usd: bigint;
  limit_usd: bigint;
  utilization: number;
  stage: 'ok' | 'warn' | 'throttle' | 'reject';
  resets_at: string;
  projected_exhaustion: string | null;
  /** This gateway's latest refusal by the instance this period; null when none. */
  last_rejection_at: string | null;
};

/** `GET /api/v1/budgets?limit=&q=`: the kept instances and how many matched. */
export type BudgetAnswer = { data: BudgetRow[]; total?: number };

/** One event of `GET /api/v1/events`. */
export type EventRow = {
  id: string;
  timestamp: string;
  type: string;
  scope: Record<string, string>;
  message: string;
  data: Record<string, unknown>;
  actor: string | null;
};

/** The fields of a `GET /api/v1/requests` row the dashboard uses. */
export type RequestRow = {
  request_id: string;
  timestamp: string;
  org: string;
  team: string;
  user: string;
  decision: string;
  reason: string | null;
};
