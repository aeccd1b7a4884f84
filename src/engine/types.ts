/** The engine's public request and answer shapes. */
import type { Reason } from '../errors.js';
import type { Pico } from '../money/money.js';
import type { RequestDims } from '../policy/scope.js';

/** What a request asks of the engine. */
export type AdmitRequest = {
  readonly dims: RequestDims;
  /** Prompt cost plus the cost of the largest completion the request may produce. */
  readonly costPico: Pico;
  /** Prompt tokens plus max output tokens. */
  readonly tokens: number;
};

/** Settles or releases one admitted request's reservation; each is callable once. */
export type Hold = {
  /** Commits the real cost and tokens in place of the reservation. */
  settle(actualCostPico: Pico, actualTokens: number): Promise<void>;
  /** Gives the whole reservation back (the request never reached the upstream). */
  release(): Promise<void>;
  /**
   * Reserves `extraPico` more in the budgets that cut streams, all or nothing, for a stream
   * that has used up its reservation; false when a budget cannot hold it (the stream is cut).
   */
  extend(extraPico: Pico): Promise<boolean>;
};

/** The engine's answer to one request. */
export type Admission =
  | {
      readonly allowed: true;
      readonly action: 'allow' | 'warn' | 'throttle';
      readonly delayMs: number;
      readonly headers: Record<string, string>;
      /** Shadow-mode policies that would have rejected this request. */
      readonly shadowRejected: string[];
      /** Money left for a stream before it is cut; null when no cutting budget applies. */
      readonly streamLimitPico: Pico | null;
      /** Set when the store was down and the fail-open rule let the request through. */
      readonly failOpen?: 'store_unavailable';
      readonly hold: Hold;
    }
  | {
      readonly allowed: false;
      readonly reason: Reason;
      /** Whole seconds until the request can succeed; undefined when nobody can say. */
      readonly retryAfterSeconds: number | undefined;
      readonly headers: Record<string, string>;
      readonly budget?: string;
    };
