import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeUpstreamError, isInternalFault, toGatewayError } from './upstream-errors.js';

/** The error Node gives for a connection to a port nobody listens on. */
function refused(): Promise<Error> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 9 });
    socket.on('error', resolve);
  });
}

describe('upstream errors, as the client reads them', () => {
  it('say what failed but not the address it failed at', async () => {
    const err = await refused();

    expect(err.message).toBe('connect ECONNREFUSED 127.0.0.1:9');
    expect(describeUpstreamError(err)).toBe('ECONNREFUSED (connect)');
    const failure = toGatewayError(err, { name: 'openai', timeoutMs: 600_000 });
    expect([failure.httpStatus, failure.message]).toEqual([
      502,
      'upstream "openai" failed: ECONNREFUSED (connect)',
    ]);
    // The whole message stays with the error for the gateway's log.
    expect((failure.cause as Error).message).toBe('connect ECONNREFUSED 127.0.0.1:9');
  });

  it('keep the message of a protocol error, which names no address', () => {
    const err = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });

    expect(describeUpstreamError(err)).toBe('UND_ERR_SOCKET (other side closed)');
    expect(describeUpstreamError(new Error('bad chunk'))).toBe('bad chunk');
  });
});

describe('faults inside the gateway', () => {
  it('are not blamed on the upstream, and keep their details for the log only', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'usage')");
    const failure = toGatewayError(bug, { name: 'openai', timeoutMs: 600_000 });

    expect(isInternalFault(bug)).toBe(true);
    expect(isInternalFault(Object.assign(new TypeError('fetch failed'), { code: 'UND_ERR' }))).toBe(
      false,
    );
    expect([failure.code, failure.httpStatus, failure.message]).toEqual([
      'upstream_unavailable',
      502,
      'Spendgate failed while handling this request; its log has the details',
    ]);
    expect(failure.cause).toBe(bug);
  });
});
