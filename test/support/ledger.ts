import type { LedgerRow } from '../../src/ledger/row.js';
import { picoToDecimal } from '../../src/money/money.js';
import type { TestGateway } from './gateway.js';

/**
 * The ledger row of one request, found by the id the gateway put in `x-spendgate-request-id`.
 * A streamed request's row is written just after its last byte, so this waits for it briefly.
 */
export async function rowOf(
  gateway: TestGateway,
  requestId: string | null | undefined,
  timeoutMs = 3_000,
): Promise<LedgerRow> {
  if (!requestId) throw new Error('the response has no x-spendgate-request-id header');
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = (await gateway.rows()).find((r) => r.requestId === requestId);
    if (row) return row;
    if (Date.now() > until) throw new Error(`no ledger row for request ${requestId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A row's cost as an exact decimal string of USD, or null when the cost is unknown. */
export function costUsd(row: LedgerRow): string | null {
  return row.costPico === null ? null : picoToDecimal(row.costPico);
}

/** Every header value and the body of what an upstream received, for secret-leak checks. */
export function everythingSent(request: { headers: Record<string, unknown>; body: string }) {
  return JSON.stringify(request.headers) + request.body;
}
