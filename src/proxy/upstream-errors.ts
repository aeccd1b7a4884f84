import type { OutgoingHttpHeaders } from 'node:http';
import type { PreparedUpstream } from '../config/prepare.js';
import { GatewayError } from '../errors.js';
import { deriveRetryAfter } from '../providers/retry-after.js';
import type { ProxyDeps } from './deps.js';

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Maps whatever a request failed with to the error the client gets: a GatewayError as is, an
 * upstream timeout as 504 and any other upstream failure (refused, reset, bad DNS) as 502.
 * The message names the upstream and the failure, never a header or key.
 */
export function toGatewayError(
  err: unknown,
  upstream: Pick<PreparedUpstream, 'name' | 'timeoutMs'>,
): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isInternalFault(err)) {
    // Not the upstream's doing: the client is not told the upstream failed, and the details
    // (which may quote internals) stay in the gateway's log.
    return new GatewayError(
      'upstream_unavailable',
      'Spendgate failed while handling this request; its log has the details',
      { cause: err },
    );
  }
  const code = (err as { code?: string }).code ?? '';
  if (TIMEOUT_CODES.has(code)) {
    return new GatewayError(
      'upstream_unavailable',
      `upstream "${upstream.name}" did not answer within ${upstream.timeoutMs / 1000}s`,
      { httpStatus: 504, cause: err },
    );
  }
  return new GatewayError(
    'upstream_unavailable',
    `upstream "${upstream.name}" failed: ${describeUpstreamError(err)}`,
    { cause: err },
  );
}

/**
 * A fault in the gateway's own code rather than in the network or the upstream: a language
 * error without the `code` that system and undici errors carry.
 */
export function isInternalFault(err: unknown): err is Error {
  const language =
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof ReferenceError ||
    err instanceof SyntaxError;
  return language && (err as { code?: unknown }).code === undefined;
}

/**
 * An upstream whose key variable is configured but not set is unusable: forwarding without
 * the key would fail at the provider, or worse, pass a client's credential on.
 */
export function assertUpstreamKey(upstream: PreparedUpstream): void {
  if (upstream.holdsKey && !upstream.apiKey) {
    throw new GatewayError(
      'upstream_unavailable',
      `upstream "${upstream.name}" has no provider key: its api_key_env variable is not set`,
    );
  }
}

/**
 * A short, secret-free description of a network or protocol failure, for the client. A system
 * error's message names the address it tried (`connect ECONNREFUSED 10.0.0.5:443`): clients
 * are told what failed, not where; the gateway's log has the whole message.
 */
export function describeUpstreamError(err: unknown): string {
  const { code, syscall } = err as { code?: string; syscall?: string };
  if (code && syscall) return `${code} (${syscall})`;
  const message = err instanceof Error ? err.message : String(err);
  return code ? `${code} (${message})` : message;
}

/**
 * An upstream 429 gets a `Retry-After` in delta-seconds: `retry-after-ms` or `retry-after` when
 * it sent one, else derived from its rate-limit reset headers (SPEC "Modes"): the latest reset
 * among the exhausted buckets, whole seconds rounded up.
 */
export function retryAfterFor429(
  deps: ProxyDeps,
  upstream: string,
  upstreamHeaders: Record<string, string | string[] | undefined>,
  out: OutgoingHttpHeaders,
): void {
  const nowMs = deps.clock.now();
  const derived = deriveRetryAfter(upstreamHeaders, nowMs);
  deps.upstreamLimits.record(upstream, derived.buckets, nowMs);
  // Always whole delta-seconds, the one form every client parses (an HTTP-date is converted).
  if (derived.seconds !== null) out['retry-after'] = String(derived.seconds);
}
