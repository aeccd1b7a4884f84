import { describe, expect, it } from 'vitest';
import { bucketConfig, checkTokenBucket, settleTokenBucket } from './token-bucket.js';

const tpm = bucketConfig('tpm', 60_000);

describe('token bucket: admission', () => {
  it('starts full and charges the reservation', () => {
    const d = checkTokenBucket(undefined, tpm, 10_000, 0);

    expect(d.allowed).toBe(true);
    expect(d.next).toEqual({ tokens: 50_000, updatedAtMs: 0 });
    expect(d.remaining).toBe(50_000);
    expect(d.resetSeconds).toBe(10);
  });

  it('refuses a charge larger than what is left and says when it fits', () => {
    const state = { tokens: 1_000, updatedAtMs: 0 };

    const d = checkTokenBucket(state, tpm, 4_000, 0);

    expect(d.allowed).toBe(false);
    expect(d.next).toEqual(state);
    expect(d.retryAfterSeconds).toBe(3);
  });

  it('refills continuously, capped at capacity', () => {
    const state = { tokens: 0, updatedAtMs: 0 };

    expect(checkTokenBucket(state, tpm, 500, 500).allowed).toBe(true);
    expect(checkTokenBucket(state, tpm, 501, 500).allowed).toBe(false);
    expect(checkTokenBucket(state, tpm, 0, 600_000).remaining).toBe(60_000);
  });

  it('counts one per request for requests per minute', () => {
    const rpm = bucketConfig('rpm', 2);
    const first = checkTokenBucket(undefined, rpm, 1, 0);
    const second = checkTokenBucket(first.next, rpm, 1, 0);

    const third = checkTokenBucket(second.next, rpm, 1, 0);

    expect(third.allowed).toBe(false);
    expect(third.retryAfterSeconds).toBe(30);
  });

  it('refuses a charge larger than the whole bucket with the time to full', () => {
    const d = checkTokenBucket({ tokens: 30_000, updatedAtMs: 0 }, tpm, 70_000, 0);

    expect(d.allowed).toBe(false);
    expect(d.retryAfterSeconds).toBe(30);
  });
});

describe('token bucket: settle', () => {
  it('refunds the unused part of a reservation', () => {
    const state = settleTokenBucket({ tokens: 50_000, updatedAtMs: 0 }, tpm, 10_000, 2_000, 0);

    expect(state.tokens).toBe(58_000);
  });

  it('charges an overrun on top, into debt', () => {
    const state = settleTokenBucket({ tokens: 0, updatedAtMs: 0 }, tpm, 1_000, 5_000, 0);

    expect(state.tokens).toBe(-4_000);
    expect(checkTokenBucket(state, tpm, 1, 4_000).allowed).toBe(false);
    expect(checkTokenBucket(state, tpm, 1, 4_001).allowed).toBe(true);
  });

  it('never refunds above capacity', () => {
    const state = settleTokenBucket({ tokens: 59_000, updatedAtMs: 0 }, tpm, 10_000, 0, 0);

    expect(state.tokens).toBe(60_000);
  });
});
