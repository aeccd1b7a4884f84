import { describe, expect, it } from 'vitest';
import { usdToPico } from '../money/money.js';
import {
  anomalySchema,
  checkAnomaly,
  emptyRates,
  newSpendRate,
  readSpendRates,
  recordSpend,
  spendRateSpec,
  type SpendRates,
} from './anomaly.js';

const START = Date.parse('2026-05-10T00:00:00Z');
const MIN = 60_000;
const HOUR = 3_600_000;
const rule = anomalySchema.parse({ scope: { org: '*' } })[0]!;
const spec = spendRateSpec(rule.window, rule.baseline);

function rates(partial: Partial<SpendRates>): SpendRates {
  return { ...emptyRates(), ...partial };
}

describe('anomaly: schema', () => {
  it('fills the defaults and accepts one object or a list', () => {
    expect(rule).toEqual({
      scope: { org: '*' },
      multiplier: 10,
      window: 300_000,
      baseline: 86_400_000,
      min_usd_per_hour: 1,
      channels: [],
    });
    expect(anomalySchema.parse([{ window: '1m', baseline: '1h' }])[0]?.window).toBe(60_000);
  });

  it('rejects unknown fields and a baseline shorter than the window', () => {
    expect(anomalySchema.safeParse({ multipler: 3 }).success).toBe(false);
    expect(anomalySchema.safeParse({ window: '1h', baseline: '5m' }).success).toBe(false);
  });
});

describe('anomaly: spend-rate rings', () => {
  it('reads one settled dollar as $12/h over 5m and $1 in the last minute', () => {
    const state = newSpendRate();

    recordSpend(state, spec, usdToPico(1), START);
    const read = readSpendRates(state, spec, START + 1_000, emptyRates());

    expect(read.shortUsdPerHour).toBe(12);
    expect(read.minuteUsd).toBe(1);
    expect(read.trusted).toBe(false);
  });

  it('lets spend leave the minute after 60 seconds and the short window after 5 minutes', () => {
    const state = newSpendRate();
    recordSpend(state, spec, usdToPico(1), START);

    const afterMinute = readSpendRates(state, spec, START + MIN, emptyRates());
    const afterWindow = readSpendRates(state, spec, START + 5 * MIN, emptyRates());

    expect(afterMinute.minuteUsd).toBe(0);
    expect(afterMinute.shortUsdPerHour).toBe(12);
    expect(afterWindow.shortUsdPerHour).toBe(0);
  });

  it('trusts the baseline once a quarter of its window has history', () => {
    const state = newSpendRate();
    for (let t = 0; t <= 6 * HOUR; t += 5 * MIN)
      recordSpend(state, spec, usdToPico(0.05), START + t);

    const before = readSpendRates(state, spec, START + 6 * HOUR - 1, emptyRates());
    const after = readSpendRates(state, spec, START + 6 * HOUR, emptyRates());

    expect(before.trusted).toBe(false);
    expect(after.trusted).toBe(true);
    expect(after.baselineUsdPerHour).toBeCloseTo(0.6, 1);
  });
});

describe('anomaly: threshold', () => {
  it('applies only the floor with too little history, strictly above it', () => {
    expect(checkAnomaly(undefined, rule, rates({ shortUsdPerHour: 1 })).over).toBe(false);
    expect(checkAnomaly(undefined, rule, rates({ shortUsdPerHour: 1.01 })).fire).toBe(true);
  });

  it('needs at least multiplier x baseline once the baseline is trusted', () => {
    const at = rates({ shortUsdPerHour: 30, baselineUsdPerHour: 3, trusted: true });
    const under = rates({ shortUsdPerHour: 29.99, baselineUsdPerHour: 3, trusted: true });

    expect(checkAnomaly(undefined, rule, at)).toMatchObject({
      fire: true,
      thresholdUsdPerHour: 30,
    });
    expect(checkAnomaly(undefined, rule, under).fire).toBe(false);
  });

  it('still needs the floor when the baseline is zero', () => {
    const zero = rates({ shortUsdPerHour: 0.5, baselineUsdPerHour: 0, trusted: true });

    expect(checkAnomaly(undefined, rule, zero).fire).toBe(false);
  });
});

describe('anomaly: episodes', () => {
  it('fires once per episode and re-arms when the rate falls back', () => {
    const hot = rates({ shortUsdPerHour: 5 });
    const cool = rates({ shortUsdPerHour: 0.5 });

    const first = checkAnomaly(undefined, rule, hot);
    const second = checkAnomaly(first.next, rule, hot);
    const calm = checkAnomaly(second.next, rule, cool);
    const again = checkAnomaly(calm.next, rule, hot);

    expect([first.fire, second.fire, calm.fire, again.fire]).toEqual([true, false, false, true]);
  });

  it('fires on a 10x spike after a day of steady spend, not on a 5x one', () => {
    const state = newSpendRate();
    for (let t = 0; t < 24 * HOUR; t += 5 * MIN)
      recordSpend(state, spec, usdToPico(0.1), START + t);
    const spikeAt = START + 24 * HOUR;
    recordSpend(state, spec, usdToPico(0.4), spikeAt);
    const five = readSpendRates(state, spec, spikeAt, emptyRates());
    const fiveX = checkAnomaly(undefined, rule, five);

    recordSpend(state, spec, usdToPico(0.8), spikeAt + 1_000);
    const ten = readSpendRates(state, spec, spikeAt + 1_000, emptyRates());

    expect(five.baselineUsdPerHour).toBeCloseTo(1.2, 1);
    expect(fiveX.fire).toBe(false);
    expect(checkAnomaly(fiveX.next, rule, ten).fire).toBe(true);
  });
});
