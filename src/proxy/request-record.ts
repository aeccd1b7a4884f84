import type { Ledger } from '../ledger/ledger.js';
import type { Decision, LedgerRow } from '../ledger/row.js';
import type { Pico } from '../money/money.js';
import type { Resolution } from '../pricing/index.js';
import { computeCost } from '../pricing/index.js';
import type { Identity } from '../identity/index.js';
import { tokenUsage, type Usage, type UsageSource } from '../providers/types.js';

const UNATTRIBUTED = 'unattributed';

/**
 * The ledger row of one request while it is in flight. Every exit path of the request calls
 * `commit` (possibly more than once, from racing close and finish handlers); only the first
 * call writes, so a request is never recorded twice and never lost.
 */
export class RequestRecord {
  readonly row: LedgerRow;
  private committed = false;
  private rates: Resolution['rates'] = null;

  /**
   * `shutdown` tells a connection the gateway closed at the end of a graceful stop from a
   * client that left: the flag `client_disconnected` is then recorded as `gateway_shutdown`.
   */
  constructor(
    requestId: string,
    startMs: number,
    upstream: { name: string; provider: string },
    endpoint: string,
    private readonly shutdown?: { readonly aborted: boolean },
  ) {
    this.row = {
      requestId,
      timestampMs: startMs,
      org: UNATTRIBUTED,
      team: UNATTRIBUTED,
      user: UNATTRIBUTED,
      endpoint,
      provider: upstream.provider,
      upstream: upstream.name,
      model: '',
      resolvedModel: null,
      deployment: null,
      status: 0,
      decision: 'allow',
      reason: null,
      streamed: false,
      inputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
      costPico: 0n,
      usageSource: 'estimated',
      priceSource: null,
      flags: [],
      latencyMs: 0,
      tags: {},
      keyId: null,
      countedInputTokens: 0,
      countedOutputTokens: 0,
    };
  }

  setIdentity(identity: Identity): void {
    // A dimension with no source present and no literal default is still a value in the ledger.
    this.row.org = identity.org ?? UNATTRIBUTED;
    this.row.team = identity.team ?? UNATTRIBUTED;
    this.row.user = identity.user ?? UNATTRIBUTED;
    this.row.endpoint = identity.endpoint ?? this.row.endpoint;
    this.row.tags = identity.tags;
    this.row.keyId = identity.key;
  }

  setModel(model: string, deployment: string | null, resolution: Resolution): void {
    this.row.model = model;
    this.row.deployment = deployment;
    this.row.resolvedModel = resolution.pricedAs;
    this.row.priceSource = resolution.source;
    this.rates = resolution.rates;
    for (const flag of resolution.flags) this.flag(flag);
  }

  flag(flag: string): void {
    const named =
      flag === 'client_disconnected' && this.shutdown?.aborted ? 'gateway_shutdown' : flag;
    if (!this.row.flags.includes(named)) this.row.flags.push(named);
  }

  /** Records the outcome of a request the gateway refused or could not complete. */
  fail(decision: Decision, reason: string, status: number): void {
    this.row.decision = decision;
    this.row.reason = reason;
    this.row.status = status;
  }

  /**
   * Settles the tokens and cost: the provider's usage when it reported one, else the gateway's
   * own counts (`estimated`, never blank). The gateway's counts are kept beside either.
   */
  settle(
    providerUsage: Usage | null,
    counted: { input: number; output: number },
    sourceOverride?: UsageSource,
  ): Pico | null {
    const usage = providerUsage ?? tokenUsage(counted.input, counted.output);
    const source: UsageSource = sourceOverride ?? (providerUsage ? 'provider' : 'estimated');
    const r = this.row;
    r.inputTokens = usage.inputTokens;
    r.cachedInputTokens = usage.cachedInputTokens;
    r.cacheWriteTokens = usage.cacheWriteTokens;
    r.outputTokens = usage.outputTokens;
    r.reasoningTokens = usage.reasoningTokens;
    r.usageSource = source;
    r.countedInputTokens = counted.input;
    r.countedOutputTokens = counted.output;
    r.costPico = this.rates ? computeCost(usage, this.rates) : null;
    return r.costPico;
  }

  /** Charges nothing: the request produced no billable tokens (refused or failed upstream). */
  settleNothing(countedInput: number): void {
    this.row.countedInputTokens = countedInput;
    this.row.costPico = 0n;
  }

  commit(ledger: Ledger, nowMs: number, metrics?: { observe(row: LedgerRow): void }): void {
    if (this.committed) return;
    this.committed = true;
    this.row.latencyMs = Math.max(0, nowMs - this.row.timestampMs);
    ledger.append(this.row);
    metrics?.observe(this.row);
  }
}
