import { describe, expect, it } from 'vitest';
import { ANTHROPIC_STREAM } from '../../sse/case-streams.fixture.js';
import { SseParser } from '../../sse/parser.js';
import { fourCharTokens, relay } from '../../sse/relay.fixture.js';
import { emptyUsage, type Usage } from '../types.js';
import { anthropicStreamCutBlocks, createAnthropicStreamMeter } from './stream-meter.js';
import { anthropicUsage } from './usage.js';

const opts = { countTokens: fourCharTokens };
const upTo = (marker: string): string =>
  ANTHROPIC_STREAM.slice(0, ANTHROPIC_STREAM.indexOf(marker));

describe('anthropic stream meter: usage split over message_start and message_delta', () => {
  it('merges the prompt counters of message_start with the final output count', () => {
    const meter = createAnthropicStreamMeter(opts);

    const { forwarded } = relay(ANTHROPIC_STREAM, meter);

    expect(forwarded).toBe(ANTHROPIC_STREAM);
    expect(meter.result()).toEqual({
      usage: {
        ...emptyUsage(),
        inputTokens: 20012,
        cacheWriteTokens: 20000,
        cacheWrite1hTokens: 20000,
        outputTokens: 400,
      },
      finishReason: 'tool_use',
      status: 'completed',
      model: 'claude-3-7-sonnet-20250219',
      sawTerminator: true,
    });
  });

  it('counts thinking, text and tool input deltas but not signatures', () => {
    const meter = createAnthropicStreamMeter(opts);

    relay(ANTHROPIC_STREAM, meter);

    // 'Let me think' 3 + 'Hello' 2 + '{"city": "Paris"}' 5
    expect(meter.countedOutputTokens()).toBe(10);
  });

  it('takes the last cumulative message_delta counters over earlier ones', () => {
    const meter = createAnthropicStreamMeter(opts);
    const body =
      upTo('event: message_delta') +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":null},' +
      '"usage":{"output_tokens":100}}\n\n' +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},' +
      '"usage":{"input_tokens":12,"cache_creation_input_tokens":20000,' +
      '"cache_read_input_tokens":null,"output_tokens":256}}\n\n' +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n';

    relay(body, meter);

    expect(meter.result()).toMatchObject({
      usage: { inputTokens: 20012, cacheWriteTokens: 20000, outputTokens: 256 },
      finishReason: 'max_tokens',
      status: 'incomplete',
    });
  });

  it('reports no usage for a stream that ended before message_delta, but keeps the start', () => {
    const meter = createAnthropicStreamMeter(opts);

    relay(upTo('event: message_delta'), meter);

    expect(meter.result()).toMatchObject({ usage: null, status: null, sawTerminator: false });
    expect(meter.startUsage()).toMatchObject({ inputTokens: 20012, outputTokens: 1 });
  });

  it('marks an error event as failed', () => {
    const meter = createAnthropicStreamMeter(opts);
    const body =
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",' +
      '"message":"Overloaded"}}\n\n';

    expect(relay(body, meter).forwarded).toBe(body);
    expect(meter.result()).toMatchObject({ status: 'failed', usage: null });
  });

  it('closes a last message_stop without its blank line and drops a truncated fragment', () => {
    const closed = createAnthropicStreamMeter(opts);
    const truncated = createAnthropicStreamMeter(opts);
    const whole = ANTHROPIC_STREAM.slice(0, -2);
    const broken = upTo('event: message_delta') + 'event: message_delta\ndata: {"type":"mess';

    expect(relay(whole, closed).forwarded).toBe(ANTHROPIC_STREAM);
    expect(closed.result().sawTerminator).toBe(true);
    expect(relay(broken, truncated).forwarded).toBe(upTo('event: message_delta'));
  });
});

describe('anthropic stream cut: max_tokens ending with usage', () => {
  const usage: Usage = {
    ...emptyUsage(),
    inputTokens: 20012,
    cacheWriteTokens: 20000,
    cachedInputTokens: 0,
    outputTokens: 37,
  };

  function events(bytes: Buffer): { event: string | null; json: unknown }[] {
    const blocks = new SseParser().push(bytes);
    return blocks.map(({ event, data }) => ({ event, json: JSON.parse(data) as unknown }));
  }

  it('stops the open content block, then sends message_delta and message_stop', () => {
    const meter = createAnthropicStreamMeter(opts);
    relay(upTo('event: content_block_stop\ndata: {"type":"content_block_stop","index":1}'), meter);

    const cut = events(meter.cutBlocks(usage));

    expect(cut).toEqual([
      { event: 'content_block_stop', json: { type: 'content_block_stop', index: 1 } },
      {
        event: 'message_delta',
        json: {
          type: 'message_delta',
          delta: { stop_reason: 'max_tokens', stop_sequence: null },
          usage: {
            input_tokens: 12,
            cache_creation_input_tokens: 20000,
            cache_read_input_tokens: 0,
            output_tokens: 37,
          },
        },
      },
      { event: 'message_stop', json: { type: 'message_stop' } },
    ]);
    expect(anthropicUsage((cut[1]?.json as { usage: unknown }).usage)).toEqual(usage);
  });

  it('starts with a message_start when the stream had not sent one', () => {
    const bytes = anthropicStreamCutBlocks({
      id: null,
      model: 'claude-sonnet-4-5',
      started: false,
      openBlock: null,
      usage,
    });

    expect(events(bytes).map((event) => event.event)).toEqual([
      'message_start',
      'message_delta',
      'message_stop',
    ]);
  });
});
