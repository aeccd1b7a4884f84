import { describe, expect, it } from 'vitest';
import * as cases from '../sse/case-streams.fixture.js';
import { fourCharTokens, relay } from '../sse/relay.fixture.js';
import { createAnthropicStreamMeter } from './anthropic/stream-meter.js';
import { DeferredMeter } from './deferred-meter.js';
import { createOpenAiStreamMeter } from './openai/stream-meter.js';

const hidden = { hideUsageChunk: true, countTokens: fourCharTokens };
const visible = { hideUsageChunk: false, countTokens: fourCharTokens };

/** The same stream through a meter read at once and through one read late. */
function both(body: string, make: () => ConstructorParameters<typeof DeferredMeter>[0]) {
  const now = make();
  const late = new DeferredMeter(make());
  const a = relay(body, now);
  const b = relay(body, late);
  return {
    now: { forwarded: a.forwarded, result: now.result(), counted: now.countedOutputTokens() },
    late: { forwarded: b.forwarded, result: late.result(), counted: late.countedOutputTokens() },
  };
}

describe('deferred stream meter', () => {
  it('still hides the usage chunk the gateway asked for, and reads it (case 11 b)', () => {
    const { now, late } = both(cases.CASE_11B, () => createOpenAiStreamMeter('chat', hidden));

    expect(late.forwarded).toBe(cases.CASE_11B.replace(cases.CASE_11B_USAGE_CHUNK, ''));
    expect(late).toEqual(now);
    expect(late.result.usage?.inputTokens).toBe(1000);
    expect(late.result.usage?.outputTokens).toBe(500);
  });

  it('forwards every event and ends with the same figures when the client asked for usage', () => {
    const { now, late } = both(cases.CASE_11B, () => createOpenAiStreamMeter('chat', visible));

    expect(late.forwarded).toBe(cases.CASE_11B);
    expect(late).toEqual(now);
  });

  it('drops a cut-off last fragment and keeps a whole unterminated last event (case 17)', () => {
    for (const body of [cases.CASE_17A, cases.CASE_17B, cases.CASE_17D]) {
      const { now, late } = both(body, () => createOpenAiStreamMeter('chat', visible));
      expect(late).toEqual(now);
    }
  });

  it('reads an Anthropic stream to the same usage, its start included', () => {
    const { now, late } = both(cases.ANTHROPIC_STREAM, () =>
      createAnthropicStreamMeter({ countTokens: fourCharTokens }),
    );

    expect(late).toEqual(now);
    expect(late.result.usage).not.toBeNull();
  });

  it('reads a long stream in steps, in order, to the same count', () => {
    const chunk = (text: string): string =>
      `data: {"choices":[{"index":0,"delta":{"content":"${text}"},"finish_reason":null}]}\n\n`;
    const body =
      Array.from({ length: 100 }, (_, i) => chunk(`word${i} `)).join('') + 'data: [DONE]\n\n';
    const { now, late } = both(body, () => createOpenAiStreamMeter('chat', visible));

    expect(late.forwarded).toBe(body);
    expect(late.counted).toBe(now.counted);
    expect(late.counted).toBe(200);
  });
});
