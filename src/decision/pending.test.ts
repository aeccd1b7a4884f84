import { describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import type { Hold } from '../engine/types.js';
import type { LedgerRow } from '../ledger/row.js';
import { silentLogger } from '../log/logger.js';
import type { ProxyDeps } from '../proxy/deps.js';
import { RequestRecord } from '../proxy/request-record.js';
import { PendingDecisions, type PendingDecision } from './pending.js';

const START = Date.parse('2026-03-10T12:00:00Z');
const TIMEOUT_MS = 60_000;

/** A store over a fake clock, with what its releases wrote and gave back. */
function setup(opts: { maxWaiting?: number; maxFinished?: number; timeoutMs?: () => number } = {}) {
  const clock = fakeClock(START);
  const written: LedgerRow[] = [];
  const released: string[] = [];
  const deps = {
    clock,
    ledger: { append: (row: LedgerRow) => written.push(row) },
    metrics: { observe: () => undefined },
    guards: { observe: () => [] },
    logger: silentLogger(),
  } as unknown as ProxyDeps;
  const pending = new PendingDecisions({
    clock,
    logger: silentLogger(),
    usageTimeoutMs: opts.timeoutMs ?? (() => TIMEOUT_MS),
    maxWaiting: opts.maxWaiting,
    maxFinished: opts.maxFinished,
  });
  const entry = (id: string): PendingDecision => {
    const hold: Hold = {
      settle: () => Promise.resolve(),
      release: () => {
        released.push(id);
        return Promise.resolve();
      },
      extend: () => Promise.resolve(true),
    };
    const record = new RequestRecord(id, clock.now(), { name: 'openai', provider: 'openai' }, '/');
    return { deps, record, hold, op: 'chat', countedInput: 42, rates: null };
  };
  const hold = (id: string): void => pending.hold(id, entry(id));
  return { clock, pending, hold, written, released };
}

describe('pending decisions: the usage timeout', () => {
  it('keeps a decision until the timeout and releases it at the timeout', () => {
    const { clock, pending, hold, written, released } = setup();
    hold('a');

    clock.advance(TIMEOUT_MS - 1);
    const early = pending.sweep();
    clock.advance(1);
    const due = pending.sweep();

    expect([early, due]).toEqual([0, 1]);
    expect(released).toEqual(['a']);
    expect(written.map((r) => [r.requestId, r.flags, r.costPico, r.countedInputTokens])).toEqual([
      ['a', ['usage_unreported'], 0n, 42],
    ]);
    expect(pending.peek('a')).toBe('expired');
  });

  it('releases only the decisions past the timeout, oldest first', () => {
    const { clock, pending, hold, released } = setup();
    hold('old');
    clock.advance(30_000);
    hold('new');

    clock.advance(30_000);
    pending.sweep();

    expect(released).toEqual(['old']);
    expect(pending.size).toBe(1);
  });

  it('applies a timeout changed by a reload to the decisions already waiting', () => {
    let timeoutMs = TIMEOUT_MS;
    const { clock, pending, hold } = setup({ timeoutMs: () => timeoutMs });
    hold('a');
    clock.advance(10_000);

    timeoutMs = 5_000;

    expect(pending.sweep()).toBe(1);
  });
});

describe('pending decisions: ids that stopped waiting', () => {
  it('hands a decision out once, then tells it was reported', () => {
    const { pending, hold } = setup();
    hold('a');

    const first = pending.take('a');
    const second = pending.take('a');

    expect(first?.countedInput).toBe(42);
    expect(second).toBeUndefined();
    expect(pending.peek('a')).toBe('reported');
    expect(pending.peek('never')).toBeUndefined();
  });

  it('forgets the oldest finished ids past its bound', () => {
    const { pending } = setup({ maxFinished: 2 });

    pending.finish('a', 'rejected');
    pending.finish('b', 'rejected');
    pending.finish('c', 'unmetered');

    expect([pending.peek('a'), pending.peek('b'), pending.peek('c')]).toEqual([
      undefined,
      'rejected',
      'unmetered',
    ]);
  });
});

describe('pending decisions: bounds and shutdown', () => {
  it('releases the oldest early when too many wait at once', () => {
    const { pending, hold, released, written } = setup({ maxWaiting: 2 });

    hold('a');
    hold('b');
    hold('c');

    expect(released).toEqual(['a']);
    expect(written.map((r) => r.requestId)).toEqual(['a']);
    expect(pending.size).toBe(2);
  });

  it('writes every waiting decision as released at close, and later ones at once', () => {
    const { pending, hold, released, written } = setup();
    hold('a');
    hold('b');

    const count = pending.close();
    hold('late');

    expect(count).toBe(2);
    expect(released).toEqual(['a', 'b', 'late']);
    expect(written.map((r) => r.flags)).toEqual([
      ['usage_unreported'],
      ['usage_unreported'],
      ['usage_unreported'],
    ]);
    expect(pending.size).toBe(0);
  });
});
