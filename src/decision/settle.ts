/**
 * The two ends of an allowed decision: its usage reported (the row priced from the provider's
 * usage, as the proxy prices a response) or never reported (the reservation released, cost 0).
 * Either way the row is written once and the hold settled once.
 */
import type { LedgerRow } from '../ledger/row.js';
import { settleHold } from '../proxy/admission.js';
import type { Usage } from '../providers/types.js';
import type { PendingDecision } from './pending.js';

/** What `POST /v1/usage` reported for one decision. */
export type UsageReport = {
  /** The provider's usage, normalized; null when the call failed and reported none. */
  usage: Usage | null;
  /** The status the provider answered the request with. */
  status: number;
};

/**
 * Commits the reported usage in place of the reservation. A failed call (status 400 or more)
 * is not billed, as the proxy does not bill an upstream error; the gateway's own prompt count is
 * kept beside the provider's figures, and no completion was counted (it never saw one).
 */
export function settleReported(
  entry: PendingDecision,
  report: UsageReport,
  nowMs: number,
): LedgerRow {
  const { deps, record, hold, countedInput } = entry;
  record.row.status = report.status;
  if (report.status >= 400 || report.usage === null) {
    if (report.status >= 400) record.flag('upstream_error');
    record.settleNothing(countedInput);
  } else {
    record.settle(report.usage, { input: countedInput, output: 0 });
  }
  record.commit(deps.ledger, nowMs, deps.metrics);
  settleHold(deps, hold, record);
  return record.row;
}

/**
 * A decision whose usage never came: the reservation goes back whole and the row says so (cost
 * 0, status 0 since no answer was seen, flag `usage_unreported`), so the decision is not lost.
 */
export function releaseUnreported(entry: PendingDecision, nowMs: number): void {
  const { deps, record, hold, countedInput } = entry;
  record.flag('usage_unreported');
  record.settleNothing(countedInput);
  record.commit(deps.ledger, nowMs, deps.metrics);
  settleHold(deps, hold, record);
}
