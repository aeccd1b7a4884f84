import { describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import { usdToPico } from '../money/money.js';
import { anomalySchema } from '../policy/anomaly.js';
import { circuitBreakerSchema } from '../policy/circuit-breaker.js';
import { loopDetectionSchema } from '../policy/loop-detector.js';
import { createGuards } from './guards.js';
import type { GuardEvent, GuardRequest } from './types.js';

const T0 = Date.parse('2026-05-10T22:00:00Z');
const anomaly = anomalySchema.parse({ scope: { org: '*' }, channels: ['oncall'] });
const breaker = circuitBreakerSchema.parse({
  scope: { org: '*' },
  max_usd_per_minute: 5,
  baseline_multiplier: 20,
  cooldown: '10m',
  channels: ['oncall'],
});
const loops = loopDetectionSchema.parse({ scope: { org: '*' }, ignore_fields: ['user'] });

function request(org: string, content = 'summarise the ticket'): GuardRequest {
  return {
    dims: { org },
    path: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] },
  };
}

describe('guards: breaker through the runtime', () => {
  it('rejects with the exact Retry-After, probes after the cooldown and closes', () => {
    const clock = fakeClock(T0);
    const guards = createGuards({ breaker, clock });
    const events: GuardEvent[] = [];
    for (let i = 0; i < 5; i++) events.push(...guards.observe({ org: 'acme' }, usdToPico(1)));

    clock.advance(90_400);
    const rejected = guards.check(request('acme'));
    clock.set(T0 + 600_000);
    const probe = guards.check(request('acme', 'probe'));
    const waiting = guards.check(request('acme', 'other'));
    const closing = guards.observe({ org: 'acme' }, usdToPico(0.01));
    const after = guards.check(request('acme', 'after'));

    expect(events.map((e) => e.type)).toEqual(['breaker_opened']);
    expect(events[0]).toMatchObject({
      scope: { org: 'acme' },
      channels: ['oncall'],
      figures: { reason: 'max_usd_per_minute', minute_usd: 5, cooldown_seconds: 600 },
    });
    expect(rejected).toEqual({
      allowed: false,
      reason: 'circuit_breaker_open',
      retryAfterSeconds: 510,
      events: [],
    });
    expect(probe.allowed).toBe(true);
    expect(waiting).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(closing.map((e) => [e.type, e.figures.reason])).toEqual([['breaker_closed', 'probe']]);
    expect(after.allowed).toBe(true);
  });

  it('re-opens when the probe traffic is still hot', () => {
    const clock = fakeClock(T0);
    const guards = createGuards({
      breaker: circuitBreakerSchema.parse({ max_usd_per_minute: 5, cooldown: '30s' }),
      clock,
    });
    guards.observe({ org: 'acme' }, usdToPico(5));

    clock.advance(30_000);
    guards.check(request('acme'));
    const reopened = guards.observe({ org: 'acme' }, usdToPico(0.5));

    expect(reopened.map((e) => e.type)).toEqual(['breaker_opened']);
    expect(guards.view().breakers).toEqual([
      {
        scope: {},
        phase: 'open',
        openedAtMs: T0 + 30_000,
        trigger: 'max_usd_per_minute',
        retryAfterSeconds: 30,
      },
    ]);
  });

  it('closes on reset for exactly that scope, with an event', () => {
    const clock = fakeClock(T0);
    const guards = createGuards({ breaker, clock });
    guards.observe({ org: 'acme' }, usdToPico(6));

    const other = guards.reset({ org: 'beta' });
    const reset = guards.reset({ org: 'acme' });

    expect(other).toEqual({ closed: false, events: [] });
    expect(reset.closed).toBe(true);
    expect(reset.events[0]).toMatchObject({ type: 'breaker_closed', figures: { reason: 'reset' } });
    expect(guards.check(request('acme')).allowed).toBe(true);
    expect(guards.view().breakers).toEqual([]);
  });

  it('does not use up the probe on a request the loop detector rejects', () => {
    const clock = fakeClock(T0);
    const slowLoops = loopDetectionSchema.parse({ threshold: 2, window: '20m' });
    const guards = createGuards({ breaker, loops: slowLoops, clock });
    guards.check(request('acme', 'same'));
    guards.observe({ org: 'acme' }, usdToPico(5));

    clock.advance(600_000);
    const loop = guards.check(request('acme', 'same'));
    const probe = guards.check(request('acme', 'fresh'));

    expect(loop).toMatchObject({
      allowed: false,
      reason: 'loop_detected',
      retryAfterSeconds: 1200,
    });
    expect(probe.allowed).toBe(true);
  });
});

describe('guards: anomaly before breaker', () => {
  it('emits the anomaly event no later than the breaker opening', () => {
    const clock = fakeClock(T0);
    const guards = createGuards({ anomaly, breaker, clock });

    const events = guards.observe({ org: 'acme' }, usdToPico(10));

    expect(events.map((e) => e.type)).toEqual(['anomaly', 'breaker_opened']);
    expect(events[0]?.figures).toMatchObject({ rate_usd_per_hour: 120, forced: false });
  });

  it('forces the anomaly when the breaker trips below the anomaly threshold', () => {
    const clock = fakeClock(T0);
    const high = anomalySchema.parse({ min_usd_per_hour: 1000 });
    const guards = createGuards({
      anomaly: high,
      breaker: circuitBreakerSchema.parse({ max_usd_per_minute: 5 }),
      clock,
    });

    const events = guards.observe({ org: 'acme' }, usdToPico(5));

    expect(events.map((e) => [e.type, e.figures.forced ?? null])).toEqual([
      ['anomaly', true],
      ['breaker_opened', null],
    ]);
  });
});

describe('guards: loop actions', () => {
  it('warns and throttles with a header instead of rejecting when configured', () => {
    const clock = fakeClock(T0);
    const warn = loopDetectionSchema.parse({ threshold: 2, action: 'warn' });
    const throttle = loopDetectionSchema.parse({ threshold: 3, action: 'throttle', delay_ms: 250 });
    const guards = createGuards({ loops: [...warn, ...throttle], clock });

    const first = guards.check(request('acme'));
    const second = guards.check(request('acme'));
    const third = guards.check(request('acme'));

    expect(first).toEqual({ allowed: true, action: 'allow', delayMs: 0, headers: {}, events: [] });
    expect(second).toMatchObject({ action: 'warn', delayMs: 0 });
    expect(second.events.map((e) => e.type)).toEqual(['loop_detected']);
    expect(third).toMatchObject({
      action: 'throttle',
      delayMs: 250,
      headers: { 'x-spendgate-loop-warning': 'repeated; count=3; window=60s' },
    });
  });
});

describe('guards: SPEC stories', () => {
  it('stops the agent loop with an alert first and spend within the $50 budget', () => {
    for (const withLoops of [false, true]) {
      const clock = fakeClock(T0);
      const guards = createGuards({ anomaly, breaker, loops: withLoops ? loops : [], clock });
      const budgetPico = usdToPico(50);
      const costPico = usdToPico(0.05);
      let spentPico = 0n;
      const events: string[] = [];
      const stops: string[] = [];

      // 200 identical calls a minute from 22:00 to 06:00.
      for (let i = 0; i < 8 * 60 * 200; i++) {
        clock.set(T0 + i * 300);
        const verdict = guards.check(request('acme'));
        events.push(...verdict.events.map((e) => e.type));
        if (!verdict.allowed) {
          stops.push(verdict.reason);
          events.push(`stop:${verdict.reason}`);
          continue;
        }
        if (spentPico + costPico > budgetPico) continue;
        spentPico += costPico;
        events.push(...guards.observe({ org: 'acme' }, costPico).map((e) => e.type));
      }

      const firstStop = events.findIndex((e) => e === 'breaker_opened' || e.startsWith('stop:'));
      expect(events.indexOf('anomaly')).toBeGreaterThanOrEqual(0);
      expect(events.indexOf('anomaly')).toBeLessThan(firstStop);
      expect(spentPico <= budgetPico).toBe(true);
      expect(stops.length).toBeGreaterThan(90_000);
      if (withLoops) expect(spentPico).toBe(usdToPico(0.45));
    }
  });

  it('opens the noisy tenant breaker while every other tenant is allowed', () => {
    const clock = fakeClock(T0);
    const guards = createGuards({ anomaly, breaker, loops, clock });
    const quiet = ['a', 'b', 'c', 'd'];
    let quietRejections = 0;
    let noisyRejections = 0;

    for (let i = 0; i < 6_000; i++) {
      clock.set(T0 + i * 100);
      const verdict = guards.check(request('free', `batch item ${i}`));
      if (verdict.allowed) guards.observe({ org: 'free' }, usdToPico(0.2));
      else noisyRejections++;
      const tenant = quiet[i % quiet.length] as string;
      const other = guards.check(request(tenant, `question ${i}`));
      if (other.allowed) guards.observe({ org: tenant }, usdToPico(0.001));
      else quietRejections++;
    }

    expect(quietRejections).toBe(0);
    expect(noisyRejections).toBeGreaterThan(5_000);
    expect(guards.view().breakers.map((b) => b.scope)).toEqual([{ org: 'free' }]);
  });
});
