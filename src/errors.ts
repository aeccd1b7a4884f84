/**
 * Every reason code Spendgate puts in `x-spendgate-reason` and in error bodies, with the HTTP
 * status it answers with. These strings are public API: never rename or reuse one.
 */
export const REASONS = {
  budget_exceeded: 429,
  tpm_exceeded: 429,
  tpd_exceeded: 429,
  rpm_exceeded: 429,
  loop_detected: 429,
  circuit_breaker_open: 429,
  kill_switch: 429,
  missing_identity: 400,
  invalid_token: 401,
  unknown_upstream: 404,
  unknown_model: 400,
  request_too_large: 413,
  invalid_request: 400,
  upstream_unavailable: 502,
  store_unavailable: 503,
} as const;

export type Reason = keyof typeof REASONS;

/** One error class for bad input at the edges and for failures the HTTP layer must answer. */
export class GatewayError extends Error {
  readonly code: Reason;
  readonly httpStatus: number;
  /** Seconds the client should wait, for rejections that clear on their own. */
  readonly retryAfterSeconds: number | undefined;
  /** Headers the rejection carries besides the reason (the budgets' RateLimit fields). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: Reason,
    message: string,
    options: {
      cause?: unknown;
      retryAfterSeconds?: number | undefined;
      httpStatus?: number;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.httpStatus = options.httpStatus ?? REASONS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }
}

/** A configuration file with mistakes: every problem with its path in the file. */
export class ConfigError extends Error {
  readonly problems: readonly { path: string; message: string }[];

  constructor(file: string, problems: { path: string; message: string }[]) {
    super(
      `${file}: ${problems.length} problem(s)\n` +
        problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
