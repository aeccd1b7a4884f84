import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  loopDetectionSchema,
  loopFingerprint,
  loopHitCount,
  newLoopEntry,
  recordLoopHit,
} from './loop-detector.js';

const T0 = Date.parse('2026-05-10T00:00:00Z');
const rule = loopDetectionSchema.parse({
  scope: { org: '*' },
  ignore_fields: ['user', 'metadata'],
})[0]!;
const none = new Set<string>();

describe('loop detection: schema', () => {
  it('fills the defaults', () => {
    expect(rule).toEqual({
      scope: { org: '*' },
      window: 60_000,
      threshold: 10,
      action: 'reject',
      delay_ms: 1000,
      ignore_fields: ['user', 'metadata'],
      channels: [],
    });
  });

  it('rejects an unknown action', () => {
    expect(loopDetectionSchema.safeParse({ action: 'block' }).success).toBe(false);
  });
});

describe('loop detection: fingerprint', () => {
  it('sorts keys and drops ignored fields at every depth', () => {
    const body = { b: 1, a: [{ y: 'x', user: 'u1' }], user: 'u2', metadata: { run: 3 } };

    expect(canonicalJson(body, new Set(rule.ignore_fields))).toBe('{"a":[{"y":"x"}],"b":1}');
  });

  it('is the same for bodies that differ only in key order and ignored fields', () => {
    const ignore = new Set(rule.ignore_fields);
    const one = canonicalJson(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], user: 'a' },
      ignore,
    );
    const two = canonicalJson(
      { user: 'b', messages: [{ content: 'hi', role: 'user' }], model: 'm' },
      ignore,
    );

    expect(loopFingerprint('acme', '/v1/chat/completions', 'gpt-4o', one)).toBe(
      loopFingerprint('acme', '/v1/chat/completions', 'gpt-4o', two),
    );
  });

  it('differs by scope, path, model and content', () => {
    const body = canonicalJson({ q: 1 }, none);
    const base = loopFingerprint('acme', '/p', 'm', body);

    expect(loopFingerprint('beta', '/p', 'm', body)).not.toBe(base);
    expect(loopFingerprint('acme', '/q', 'm', body)).not.toBe(base);
    expect(loopFingerprint('acme', '/p', 'n', body)).not.toBe(base);
    expect(loopFingerprint('acme', '/p', 'm', canonicalJson({ q: 2 }, none))).not.toBe(base);
  });
});

describe('loop detection: threshold and window', () => {
  it('acts on the threshold-th hit within the window, not before', () => {
    const entry = newLoopEntry(rule);
    const hits = Array.from({ length: 10 }, (_, i) => recordLoopHit(entry, rule, T0 + i * 1_000));

    expect(hits.slice(0, 9).every((h) => !h.active)).toBe(true);
    expect(hits[9]).toEqual({ active: true, detected: true, retryAfterSeconds: 60 });
    expect(loopHitCount(entry, rule, T0 + 9_000)).toBe(10);
  });

  it('does not count a hit exactly one window old', () => {
    const entry = newLoopEntry(rule);
    for (let i = 0; i < 9; i++) recordLoopHit(entry, rule, T0 + i * 1_000);

    const tenth = recordLoopHit(entry, rule, T0 + 60_000);

    expect(tenth.active).toBe(false);
  });

  it('keeps acting on repeats until the window passes, with one detection', () => {
    const entry = newLoopEntry(rule);
    for (let i = 0; i < 10; i++) recordLoopHit(entry, rule, T0);

    const repeat = recordLoopHit(entry, rule, T0 + 30_000);
    const after = recordLoopHit(entry, rule, T0 + 60_000);

    expect(repeat).toEqual({ active: true, detected: false, retryAfterSeconds: 30 });
    expect(after.active).toBe(false);
  });

  it('detects again in the next window while the loop goes on', () => {
    const entry = newLoopEntry(rule);
    const detections: number[] = [];
    for (let t = 0; t < 180_000; t += 1_000) {
      if (recordLoopHit(entry, rule, T0 + t).detected) detections.push(t);
    }

    expect(detections).toEqual([9_000, 69_000, 129_000]);
  });
});
