/**
 * The loop side of the guards: per rule and scope instance, a capped LRU of request fingerprints
 * with the times of their last hits.
 */
import {
  canonicalJson,
  loopFingerprint,
  loopHitCount,
  newLoopEntry,
  recordLoopHit,
  type LoopEntry,
  type LoopRule,
} from '../policy/loop-detector.js';
import { compileScope, scopeValues, type ScopeMatcher } from '../policy/scope.js';
import { evictOldest, TOUCH_EVERY_MS } from './slots.js';
import type { GuardEvent, GuardRequest } from './types.js';
import { NO_EVENTS, NO_HEADERS } from './types.js';

/** Fingerprints kept per scope instance: a loop is one hot fingerprint, so few are needed. */
export const FINGERPRINTS_PER_SCOPE = 32;

type ScopeSlot = { touchedMs: number; readonly entries: Map<string, LoopEntry> };

type Compiled = {
  readonly rule: LoopRule;
  readonly matcher: ScopeMatcher;
  readonly ignore: ReadonlySet<string>;
  /** Rules with the same ignored fields share one canonical body per request. */
  readonly ignoreKey: string;
  readonly slots: Map<string, ScopeSlot>;
};

/** The loop verdict for one request: the most severe action over every loop rule. */
export type LoopVerdict = {
  readonly action: 'allow' | 'warn' | 'throttle' | 'reject';
  readonly delayMs: number;
  readonly retryAfterSeconds: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly events: readonly GuardEvent[];
};

/** The verdict when no rule sees a loop; shared so the common path allocates nothing more. */
export const NO_LOOP: LoopVerdict = Object.freeze({
  action: 'allow',
  delayMs: 0,
  retryAfterSeconds: 0,
  headers: NO_HEADERS,
  events: NO_EVENTS,
});

const SEVERITY = { allow: 0, warn: 1, throttle: 2, reject: 3 } as const;

/** The loop runtime for a set of rules. */
export type LoopGuards = ReturnType<typeof createLoopGuards>;

/** Builds the loop runtime; scopes are compiled and ignore sets built once, here. */
export function createLoopGuards(rules: readonly LoopRule[], maxScopes: number) {
  const compiled: Compiled[] = rules.map((rule) => ({
    rule,
    matcher: compileScope(rule.scope),
    ignore: new Set(rule.ignore_fields),
    ignoreKey: [...rule.ignore_fields].sort().join('\u0000'),
    slots: new Map(),
  }));

  function entriesFor(c: Compiled, joined: string, nowMs: number): Map<string, LoopEntry> {
    let slot = c.slots.get(joined);
    if (slot === undefined) {
      if (c.slots.size >= maxScopes) evictOldest(c.slots);
      slot = { touchedMs: nowMs, entries: new Map() };
      c.slots.set(joined, slot);
    } else if (nowMs - slot.touchedMs > TOUCH_EVERY_MS) {
      c.slots.delete(joined);
      c.slots.set(joined, slot);
      slot.touchedMs = nowMs;
    }
    return slot.entries;
  }

  function hit(c: Compiled, entries: Map<string, LoopEntry>, fingerprint: string): LoopEntry {
    let entry = entries.get(fingerprint);
    if (entry === undefined) {
      if (entries.size >= FINGERPRINTS_PER_SCOPE) evictOldest(entries);
      entry = newLoopEntry(c.rule);
    } else {
      // Every hit moves the fingerprint to the end, so a looping one is never the one evicted.
      entries.delete(fingerprint);
    }
    entries.set(fingerprint, entry);
    return entry;
  }

  /** Records the request under every matching rule and returns the most severe verdict. */
  function check(req: GuardRequest, nowMs: number): LoopVerdict {
    let verdict: LoopVerdict = NO_LOOP;
    let canonical = '';
    let canonicalFor: string | null = null;
    let events: GuardEvent[] | null = null;
    for (const c of compiled) {
      const joined = c.matcher.match(req.dims);
      if (joined === null) continue;
      if (canonicalFor !== c.ignoreKey) {
        canonical = canonicalJson(req.body, c.ignore);
        canonicalFor = c.ignoreKey;
      }
      const fingerprint = loopFingerprint(joined, req.path, req.model, canonical);
      const entry = hit(c, entriesFor(c, joined, nowMs), fingerprint);
      const result = recordLoopHit(entry, c.rule, nowMs);
      if (!result.active) continue;

      const count = loopHitCount(entry, c.rule, nowMs);
      if (result.detected) {
        (events ??= []).push(loopEvent(c, joined, req, count, nowMs));
      }
      if (SEVERITY[c.rule.action] <= SEVERITY[verdict.action]) continue;
      verdict = {
        action: c.rule.action,
        delayMs: c.rule.action === 'throttle' ? c.rule.delay_ms : 0,
        retryAfterSeconds: result.retryAfterSeconds,
        headers: {
          'x-spendgate-loop-warning': `repeated; count=${count}; window=${c.rule.window / 1000}s`,
        },
        events: NO_EVENTS,
      };
    }
    if (events === null) return verdict;
    return { ...verdict, events };
  }

  /** How many scope instances hold loop state. */
  function size(): number {
    return compiled.reduce((n, c) => n + c.slots.size, 0);
  }

  return { check, size };
}

function loopEvent(
  c: Compiled,
  joined: string,
  req: GuardRequest,
  count: number,
  atMs: number,
): GuardEvent {
  const scope = scopeValues(c.matcher.keys, joined);
  const who = Object.entries(scope)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return {
    type: 'loop_detected',
    scope,
    message:
      `loop detected for ${who || 'all traffic'}: ${count} identical requests to ${req.path} ` +
      `(${req.model ?? 'no model'}) within ${c.rule.window / 1000}s; action ${c.rule.action}`,
    figures: {
      count,
      threshold: c.rule.threshold,
      window_seconds: c.rule.window / 1000,
      action: c.rule.action,
      path: req.path,
      model: req.model,
    },
    atMs,
    channels: c.rule.channels,
  };
}
