import { GatewayError } from '../errors.js';

/** Characters of an unknown upstream's name an error repeats. */
export const MAX_ECHOED_NAME = 100;

/**
 * The 404 for a path whose first segment names no configured upstream. The name comes from the
 * caller and is echoed (by the decision service also in `x-spendgate-error-body`): a long one is
 * cut, so the answer's headers stay within a front proxy's buffer for them (nginx: 4-8 KB) and
 * a huge path is not sent back whole.
 */
export function unknownUpstreamError(name: string, configured: Iterable<string>): GatewayError {
  const echoed = name.length > MAX_ECHOED_NAME ? `${name.slice(0, MAX_ECHOED_NAME)}…` : name;
  const known = [...configured].map((n) => `/${n}`).join(', ');
  return new GatewayError(
    'unknown_upstream',
    `no upstream named "${echoed}"; configured: ${known}`,
  );
}
