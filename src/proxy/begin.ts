import type { IncomingMessage, ServerResponse } from 'node:http';
import { queryOf, type Identity } from '../identity/index.js';
import { timeOrderedId } from '../ledger/ids.js';
import { RequestAbort } from './request-abort.js';
import type { ProxyDeps } from './deps.js';
import { RequestRecord } from './request-record.js';
import type { ProxyRoute } from './route.js';
import { assertUpstreamKey } from './upstream-errors.js';

/**
 * A proxied request's first steps, shared by metered and unmetered handling. `headers` are the
 * ones Spendgate adds to the answer (the request id, then the policy's): they are passed with
 * the status in one `writeHead`, as Node writes an object of headers given there without
 * checking and storing each one apart as `setHeader` does.
 */
export type Begun = { record: RequestRecord; abort: RequestAbort; headers: Record<string, string> };

/**
 * Gives the request its id and ledger record, and an abort signal that fires when the client
 * goes away before the response is finished (so the upstream call stops too).
 */
export function beginRequest(deps: ProxyDeps, res: ServerResponse, route: ProxyRoute): Begun {
  const nowMs = deps.clock.now();
  const requestId = timeOrderedId(nowMs);
  const record = new RequestRecord(requestId, nowMs, route.upstream, route.path, deps.shutdown);
  return {
    record,
    abort: new RequestAbort(res),
    headers: { 'x-spendgate-request-id': requestId },
  };
}

/**
 * Authenticates and attributes the request before anything else is read, so a caller without
 * a valid credential costs the gateway no body parsing; then checks the upstream is usable.
 */
export async function attribute(
  deps: ProxyDeps,
  req: IncomingMessage,
  route: ProxyRoute,
  record: RequestRecord,
): Promise<Identity> {
  const identity = await deps.identity.resolve({
    headers: req.headers,
    query: queryOf(route.search),
    path: route.path,
  });
  record.setIdentity(identity);
  assertUpstreamKey(route.upstream);
  return identity;
}
