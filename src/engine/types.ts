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
      /** What refused, for the words of the rejection; absent for a store failure. */
      readonly refusal?: Refusal;
    };

/** The policy that refused a request, with the figures its rejection message gives. */
export type Refusal =
  | {
      readonly kind: 'budget';
      readonly name: string;
      /** The budget's scope dimensions (`org`, `tag:app`): the message names only these. */
      readonly scopeKeys: readonly string[];
      /** The request's worst case, as reserved. */
      readonly askedPico: Pico;
      /** What the budget could still hold this period (committed and reserved taken off). */
      readonly leftPico: Pico;
      /** The most one period can hold: the limit, or the threshold of a reject stage below 100%. */
      readonly wholePico: Pico;
      readonly limitPico: Pico;
      /** The reject stage, in percent of the limit. */
      readonly rejectAt: number;
    }
  | {
      readonly kind: 'rate_limit';
      readonly name: string;
      readonly scopeKeys: readonly string[];
      readonly bucket: 'tpm' | 'tpd' | 'rpm';
      /** Tokens (or 1 request) the request asked for, and the bucket's whole size. */
      readonly asked: number;
      readonly capacity: number;
    }
  | {
      readonly kind: 'kill_switch';
      readonly dimension: string;
      readonly value: string;
      readonly reason: string | null;
      readonly expiresAtMs: number | null;
    };
