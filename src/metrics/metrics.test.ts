import { Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { exposition, LATENCY_BUCKETS, summedHistogram } from './metrics.js';

describe('summedHistogram', () => {
  it('exposes exactly what prom-client Histogram exposes for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const config = {
      name: 'spendgate_request_duration_seconds',
      help: 'Time from admission to the end of the response, by upstream.',
      labelNames: ['upstream', 'streamed'] as const,
    };
    const summed = summedHistogram({ ...config, buckets: LATENCY_BUCKETS, registers: [ours] });
    const reference = new Histogram({
      ...config,
      labelNames: [...config.labelNames],
      buckets: [...LATENCY_BUCKETS],
      registers: [theirs],
    });
    const observations: [string, string, number][] = [
      ['openai', 'false', 0.25],
      ['openai', 'false', 0.5],
      ['openai', 'true', 1.25],
      ['anthropic', 'true', 120],
      ['anthropic', 'true', 500],
      ['openai', 'false', 0],
    ];
    for (const [upstream, streamed, seconds] of observations) {
      summed.observe([upstream, streamed], seconds);
      reference.observe({ upstream, streamed }, seconds);
    }

    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain(
      'spendgate_request_duration_seconds_bucket{le="0.25",upstream="openai",streamed="false"} 2',
    );
    expect(text).toContain(
      'spendgate_request_duration_seconds_bucket{le="+Inf",upstream="anthropic",streamed="true"} 2',
    );
    expect(text).toContain(
      'spendgate_request_duration_seconds_sum{upstream="openai",streamed="false"} 0.75',
    );
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it('starts empty again after a registry reset', async () => {
    const registry = new Registry();
    const summed = summedHistogram({
      name: 'h',
      help: 'h',
      labelNames: ['a'],
      buckets: [1],
      registers: [registry],
    });
    summed.observe(['x'], 0.5);
    registry.resetMetrics();
    expect(await registry.metrics()).toBe('# HELP h h\n# TYPE h histogram\n');
  });
});

describe('exposition', () => {
  it("writes a value that is not a number as NaN, not prom-client's Nan", async () => {
    const registry = new Registry();
    new Gauge({ name: 'lag_mean_seconds', help: 'h', registers: [registry] }).set(NaN);
    new Gauge({ name: 'Nan_count', help: 'counts of Nan', registers: [registry] }).set(2);

    const text = await exposition(registry);

    expect(text).toContain('\nlag_mean_seconds NaN\n');
    expect(text).toContain('\nNan_count 2\n');
    expect(text).toContain('# HELP Nan_count counts of Nan\n');
  });
});
