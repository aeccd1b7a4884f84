/**
 * The spend-rate side of the guards: per scope instance, the rate rings, the anomaly episodes
 * and the breakers. Rules with the same scope share one slot, and rules with the same window and
 * baseline share one ring, so an anomaly rule and a breaker on `{ org: "*" }` read one rate.
 */
import type { Pico } from '../money/money.js';
import {
  checkAnomaly,
  emptyRates,
  newSpendRate,
  readSpendRates,
  recordSpend,
  spendRateSpec,
  type AnomalyRule,
  type AnomalyState,
  type SpendRates,
  type SpendRateSpec,
  type SpendRateState,
} from '../policy/anomaly.js';
import {
  BREAKER_CLOSED,
  checkBreaker,
  resetBreaker,
  settleBreaker,
  type BreakerRule,
  type BreakerState,
} from '../policy/circuit-breaker.js';
import { compileScope, scopeValues, type RequestDims, type ScopeMatcher } from '../policy/scope.js';
import { evictOldest, scopeKeyOf, TOUCH_EVERY_MS } from './slots.js';
import { anomalyEvent, breakerClosedEvent, breakerOpenedEvent } from './spend-events.js';
import type { BreakerView, GuardEvent } from './types.js';

type Slot = {
  touchedMs: number;
  readonly rings: SpendRateState[];
  readonly anomaly: AnomalyState[];
  readonly breakers: BreakerState[];
};

type Group = {
  readonly scope: Readonly<Record<string, string>>;
  readonly matcher: ScopeMatcher;
  readonly specs: SpendRateSpec[];
  /** One reusable rates object per spec, filled on every observe. */
  readonly rates: SpendRates[];
  readonly anomalies: { rule: AnomalyRule; spec: number }[];
  readonly breakers: { rule: BreakerRule; spec: number }[];
  readonly slots: Map<string, Slot>;
};

/** The outcome of the breaker checks for one request. */
export type BreakerAdmit =
  | { readonly rejected: true; readonly retryAfterSeconds: number }
  | { readonly rejected: false; readonly commit: () => void };

function specIndex(group: Group, windowMs: number, baselineMs: number): number {
  const found = group.specs.findIndex(
    (s) => s.windowMs === windowMs && s.baselineMs === baselineMs,
  );
  if (found >= 0) return found;
  group.specs.push(spendRateSpec(windowMs, baselineMs));
  group.rates.push(emptyRates());
  return group.specs.length - 1;
}

/** The spend-rate runtime for a set of anomaly and breaker rules. */
export type SpendGuards = ReturnType<typeof createSpendGuards>;

/** Builds the spend-rate runtime; all scope matching and grouping is done here, once. */
export function createSpendGuards(
  anomalies: readonly AnomalyRule[],
  breakers: readonly BreakerRule[],
  maxScopes: number,
) {
  const byScope = new Map<string, Group>();
  const groupOf = (scope: Readonly<Record<string, string>>): Group => {
    const key = scopeKeyOf(scope);
    let group = byScope.get(key);
    if (group === undefined) {
      group = {
        scope,
        matcher: compileScope(scope),
        specs: [],
        rates: [],
        anomalies: [],
        breakers: [],
        slots: new Map(),
      };
      byScope.set(key, group);
    }
    return group;
  };
  for (const rule of anomalies) {
    const group = groupOf(rule.scope);
    group.anomalies.push({ rule, spec: specIndex(group, rule.window, rule.baseline) });
  }
  for (const rule of breakers) {
    const group = groupOf(rule.scope);
    group.breakers.push({ rule, spec: specIndex(group, rule.window, rule.baseline) });
  }
  const groups = [...byScope.values()];
  const withBreakers = groups.filter((g) => g.breakers.length > 0);
  // Which slot each group matched in the current observe, so the breaker pass reuses it.
  const matched: (Slot | null)[] = groups.map(() => null);
  const matchedKey: string[] = groups.map(() => '');

  function newSlot(group: Group, nowMs: number): Slot {
    return {
      touchedMs: nowMs,
      rings: group.specs.map(() => newSpendRate()),
      anomaly: group.anomalies.map(() => ({ firing: false })),
      breakers: group.breakers.map(() => BREAKER_CLOSED),
    };
  }

  function slotFor(group: Group, joined: string, nowMs: number): Slot {
    let slot = group.slots.get(joined);
    if (slot === undefined) {
      if (group.slots.size >= maxScopes) evictOldest(group.slots);
      slot = newSlot(group, nowMs);
      group.slots.set(joined, slot);
    } else if (nowMs - slot.touchedMs > TOUCH_EVERY_MS) {
      // Re-inserting moves the slot to the end of the Map's order: an LRU accurate to a minute.
      group.slots.delete(joined);
      group.slots.set(joined, slot);
      slot.touchedMs = nowMs;
    }
    return slot;
  }

  /** Breaker admission; rejections leave state alone, probes are committed by the caller. */
  function admit(dims: RequestDims, nowMs: number): BreakerAdmit | null {
    let commits: (() => void)[] | null = null;
    for (const group of withBreakers) {
      const joined = group.matcher.match(dims);
      if (joined === null) continue;
      const slot = group.slots.get(joined);
      if (slot === undefined) continue;
      for (let i = 0; i < group.breakers.length; i++) {
        const state = slot.breakers[i] as BreakerState;
        if (state.phase === 'closed') continue;
        const result = checkBreaker(
          state,
          (group.breakers[i] as { rule: BreakerRule }).rule,
          nowMs,
        );
        if (!result.allowed) return { rejected: true, retryAfterSeconds: result.retryAfterSeconds };
        if (result.probe) {
          commits ??= [];
          commits.push(() => {
            slot.breakers[i] = result.next;
          });
        }
      }
    }
    if (commits === null) return null;
    const list = commits;
    return { rejected: false, commit: () => list.forEach((c) => c()) };
  }

  /** Feeds a settled cost: every group's rings and anomalies first, then the breakers. */
  function observe(dims: RequestDims, costPico: Pico, nowMs: number): GuardEvent[] | null {
    let events: GuardEvent[] | null = null;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g] as Group;
      const joined = group.matcher.match(dims);
      matched[g] = null;
      if (joined === null) continue;
      const slot = slotFor(group, joined, nowMs);
      matched[g] = slot;
      matchedKey[g] = joined;
      for (let i = 0; i < group.specs.length; i++) {
        const ring = slot.rings[i] as SpendRateState;
        recordSpend(ring, group.specs[i] as SpendRateSpec, costPico, nowMs);
        readSpendRates(ring, group.specs[i] as SpendRateSpec, nowMs, group.rates[i] as SpendRates);
      }
      for (let i = 0; i < group.anomalies.length; i++) {
        const { rule, spec } = group.anomalies[i] as { rule: AnomalyRule; spec: number };
        const rates = group.rates[spec] as SpendRates;
        const result = checkAnomaly(slot.anomaly[i], rule, rates);
        slot.anomaly[i] = result.next;
        if (!result.fire) continue;
        const scope = scopeValues(group.matcher.keys, joined);
        (events ??= []).push(anomalyEvent(rule, scope, rates, result.thresholdUsdPerHour, nowMs));
      }
    }

    for (let g = 0; g < groups.length; g++) {
      const group = groups[g] as Group;
      const slot = matched[g];
      if (slot == null || group.breakers.length === 0) continue;
      for (let i = 0; i < group.breakers.length; i++) {
        const { rule, spec } = group.breakers[i] as { rule: BreakerRule; spec: number };
        const rates = group.rates[spec] as SpendRates;
        const settle = settleBreaker(slot.breakers[i], rule, rates, nowMs);
        slot.breakers[i] = settle.next;
        if (settle.transition === null) continue;
        const scope = scopeValues(group.matcher.keys, matchedKey[g] as string);
        events ??= [];
        if (settle.transition === 'opened') {
          // SPEC: alerts fire before the breaker trips. An anomaly rule on the same scope that
          // has not fired this episode fires now, ahead of the breaker's own event.
          forceAnomalies(group, slot, scope, nowMs, events);
          events.push(breakerOpenedEvent(rule, scope, rates, settle.trigger, nowMs));
        } else {
          events.push(breakerClosedEvent(rule, scope, 'probe', nowMs));
        }
      }
    }
    return events;
  }

  function forceAnomalies(
    group: Group,
    slot: Slot,
    scope: Record<string, string>,
    nowMs: number,
    events: GuardEvent[],
  ): void {
    for (let i = 0; i < group.anomalies.length; i++) {
      if (slot.anomaly[i]?.firing === true) continue;
      const { rule, spec } = group.anomalies[i] as { rule: AnomalyRule; spec: number };
      slot.anomaly[i] = { firing: true };
      const rates = group.rates[spec] as SpendRates;
      events.push(anomalyEvent(rule, scope, rates, rule.min_usd_per_hour, nowMs, true));
    }
  }

  /** Closes every breaker whose scope is exactly this one (same keys and values). */
  function reset(scope: Readonly<Record<string, string>>, nowMs: number): GuardEvent[] {
    const events: GuardEvent[] = [];
    const keys = Object.keys(scope).sort().join(',');
    for (const group of withBreakers) {
      if (group.matcher.keys.join(',') !== keys) continue;
      const joined = group.matcher.match(dimsOfScope(scope));
      const slot = joined === null ? undefined : group.slots.get(joined);
      if (slot === undefined) continue;
      group.breakers.forEach(({ rule }, i) => {
        const result = resetBreaker(slot.breakers[i]);
        slot.breakers[i] = result.next;
        if (result.transition === 'closed') {
          events.push(breakerClosedEvent(rule, { ...scope }, 'reset', nowMs));
        }
      });
    }
    return events;
  }

  /** Every breaker instance that is not closed. */
  function view(nowMs: number): BreakerView[] {
    const out: BreakerView[] = [];
    for (const group of withBreakers) {
      for (const [joined, slot] of group.slots) {
        for (const state of slot.breakers) {
          if (state.phase === 'closed') continue;
          out.push({
            scope: scopeValues(group.matcher.keys, joined),
            phase: state.phase,
            openedAtMs: state.openedAtMs,
            trigger: state.trigger,
            retryAfterSeconds:
              state.phase === 'open' ? Math.max(0, Math.ceil((state.untilMs - nowMs) / 1000)) : 0,
          });
        }
      }
    }
    return out;
  }

  /** How many scope instances hold spend-rate state. */
  function size(): number {
    return groups.reduce((n, g) => n + g.slots.size, 0);
  }

  return { admit, observe, reset, view, size };
}

function dimsOfScope(scope: Readonly<Record<string, string>>): RequestDims {
  const dims: Record<string, unknown> = {};
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(scope)) {
    if (key.startsWith('tag:')) tags[key.slice(4)] = value;
    else dims[key] = value;
  }
  return { ...dims, tags } as RequestDims;
}
