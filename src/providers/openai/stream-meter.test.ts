import { describe, expect, it } from 'vitest';
import * as cases from '../../sse/case-streams.fixture.js';
import { SseParser } from '../../sse/parser.js';
import { fourCharTokens, relay } from '../../sse/relay.fixture.js';
import { emptyUsage, type Usage } from '../types.js';
import { createOpenAiStreamMeter, openAiStreamCutBlocks } from './stream-meter.js';
import { openaiUsage } from './usage.js';

const visible = { hideUsageChunk: false, countTokens: fourCharTokens };
const hidden = { hideUsageChunk: true, countTokens: fourCharTokens };
const usageOf = (input: number, output: number): Usage => ({
  ...emptyUsage(),
  inputTokens: input,
  outputTokens: output,
});

describe('openai stream meter: responses api usage only in the terminal event', () => {
  it('reads usage from response.completed and forwards the events unchanged (case 9 a)', () => {
    const meter = createOpenAiStreamMeter('responses', visible);

    const { forwarded } = relay(cases.CASE_9A, meter);

    expect(forwarded).toBe(cases.CASE_9A);
    expect(meter.result()).toEqual({
      usage: usageOf(1200, 300),
      finishReason: null,
      status: 'completed',
      model: 'gpt-4o-mini',
      sawTerminator: true,
    });
    expect(meter.countedOutputTokens()).toBe(1);
  });

  it('reads usage from response.incomplete with status incomplete (case 9 b)', () => {
    const meter = createOpenAiStreamMeter('responses', visible);

    const { forwarded } = relay(cases.CASE_9B, meter);

    expect(forwarded).toBe(cases.CASE_9B);
    expect(meter.result()).toEqual({
      usage: usageOf(1200, 256),
      finishReason: 'max_output_tokens',
      status: 'incomplete',
      model: 'gpt-4o-mini',
      sawTerminator: true,
    });
  });

  it('marks response.failed and error events as failed', () => {
    const failed = createOpenAiStreamMeter('responses', visible);
    const errored = createOpenAiStreamMeter('responses', visible);

    const failure = '{"type":"response.failed","response":{"usage":null}}';
    relay(`event: response.failed\ndata: ${failure}\n\n`, failed);
    relay('event: error\ndata: {"type":"error","code":"server_error","message":"x"}\n\n', errored);

    expect(failed.result()).toMatchObject({ status: 'failed', usage: null, sawTerminator: true });
    expect(errored.result()).toMatchObject({ status: 'failed', sawTerminator: false });
  });

  it('counts function-call argument and reasoning deltas', () => {
    const meter = createOpenAiStreamMeter('responses', visible);

    relay(
      'data: {"type":"response.function_call_arguments.delta","delta":"{\\"city\\":"}\n\n' +
        'data: {"type":"response.reasoning_summary_text.delta","delta":"thinking"}\n\n',
      meter,
    );

    expect(meter.countedOutputTokens()).toBe(2 + 2);
  });
});

describe('openai stream meter: include_usage on chat and legacy completions', () => {
  it('reads the usage chunk of a legacy completions stream and forwards it (case 11 a)', () => {
    const meter = createOpenAiStreamMeter('completions', visible);

    const { forwarded } = relay(cases.CASE_11A, meter);

    expect(forwarded).toBe(cases.CASE_11A);
    expect(meter.result()).toEqual({
      usage: usageOf(1000, 500),
      finishReason: 'stop',
      status: 'completed',
      model: 'gpt-3.5-turbo-instruct',
      sawTerminator: true,
    });
    expect(meter.countedOutputTokens()).toBe(1);
  });

  it('hides the usage chunk the client did not ask for and still reads it (case 11 b)', () => {
    const meter = createOpenAiStreamMeter('chat', hidden);

    const { forwarded } = relay(cases.CASE_11B, meter);

    expect(forwarded).toBe(cases.CASE_11B.replace(cases.CASE_11B_USAGE_CHUNK, ''));
    expect(meter.result().usage).toEqual(usageOf(1000, 500));
  });

  it('forwards the usage chunk when the client asked for it', () => {
    const meter = createOpenAiStreamMeter('chat', visible);

    expect(relay(cases.CASE_11B, meter).forwarded).toBe(cases.CASE_11B);
  });

  it('reports no usage but counted tokens when the server sent no usage chunk (case 11 c)', () => {
    const meter = createOpenAiStreamMeter('chat', hidden);

    const { forwarded } = relay(cases.CASE_11C, meter);

    expect(forwarded).toBe(cases.CASE_11C);
    expect(meter.result()).toEqual({
      usage: null,
      finishReason: 'stop',
      status: 'completed',
      model: 'gpt-4o-mini',
      sawTerminator: true,
    });
    expect(meter.countedOutputTokens()).toBe(1);
  });

  it('passes an empty-choices chunk without usage, such as azure prompt filter results', () => {
    const meter = createOpenAiStreamMeter('chat', hidden);
    const body =
      'data: {"id":"","object":"","created":0,"model":"","choices":[],' +
      '"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n';

    expect(relay(body, meter).forwarded).toBe(body);
    expect(meter.result().model).toBeNull();
  });

  it('ignores a provider cost of zero next to real token counts (case 13)', () => {
    const meter = createOpenAiStreamMeter('chat', hidden);

    relay(cases.CASE_13, meter);

    expect(meter.result()).toEqual({
      usage: usageOf(12, 4000),
      finishReason: 'length',
      status: 'incomplete',
      model: 'claude-sonnet-4-5',
      sawTerminator: true,
    });
  });

  it('counts tool-call names and arguments and reasoning deltas', () => {
    const meter = createOpenAiStreamMeter('chat', visible);
    const body =
      'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":' +
      '{"name":"get_weather","arguments":"{\\"ci"}}]}}]}\n\n' +
      'data: {"choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]}\n\n';

    relay(body, meter);

    expect(meter.countedOutputTokens()).toBe(3 + 1 + 1);
  });

  it('marks an error chunk as failed and forwards garbage that is a whole event', () => {
    const meter = createOpenAiStreamMeter('chat', visible);
    const body = 'data: not json\n\ndata: {"error":{"message":"overloaded"}}\n\n';

    expect(relay(body, meter).forwarded).toBe(body);
    expect(meter.result()).toMatchObject({ status: 'failed', usage: null });
  });
});

describe('openai stream meter: a last event without its blank line', () => {
  it('reads a usage chunk ending in one lf and closes it for the client (case 17 a)', () => {
    const meter = createOpenAiStreamMeter('chat', visible);

    const { forwarded } = relay(cases.CASE_17A, meter);

    expect(forwarded).toBe(`${cases.CASE_17A}\n`);
    expect(meter.result()).toEqual({
      usage: usageOf(2000, 500),
      finishReason: 'stop',
      status: 'completed',
      model: 'gpt-4o-mini',
      sawTerminator: false,
    });
  });

  it('reads a usage chunk with no line end at all (case 17 b)', () => {
    const meter = createOpenAiStreamMeter('chat', visible);

    const { forwarded } = relay(cases.CASE_17B, meter);

    expect(forwarded).toBe(`${cases.CASE_17B}\n\n`);
    expect(meter.result().usage).toEqual(usageOf(2000, 500));
  });

  it('reads response.completed ending in one lf (case 17 c)', () => {
    const meter = createOpenAiStreamMeter('responses', visible);

    const { forwarded } = relay(cases.CASE_17C, meter);

    expect(forwarded).toBe(`${cases.CASE_17C}\n`);
    expect(meter.result()).toMatchObject({ usage: usageOf(2000, 500), status: 'completed' });
  });

  it('neither reads nor forwards a truncated json fragment (case 17 d)', () => {
    const meter = createOpenAiStreamMeter('chat', visible);

    const { forwarded } = relay(cases.CASE_17D, meter);

    expect(forwarded).toBe(cases.CASE_17D.slice(0, cases.CASE_17D.lastIndexOf('data: ')));
    expect(meter.result()).toMatchObject({ usage: null, sawTerminator: false });
    expect(meter.countedOutputTokens()).toBe(1);
  });
});

describe('openai stream cut: a clean ending with a length finish reason and usage', () => {
  const cutUsage: Usage = { ...usageOf(2000, 37), cachedInputTokens: 1024, reasoningTokens: 5 };

  function events(bytes: Buffer): { event: string | null; data: string }[] {
    const parser = new SseParser();
    return parser.push(bytes).map(({ event, data }) => ({ event, data }));
  }

  it('ends a chat stream with a length chunk carrying usage, then done, with its own id', () => {
    const meter = createOpenAiStreamMeter('chat', hidden);
    relay(cases.CASE_17A.slice(0, cases.CASE_17A.indexOf('data: ', 10)), meter);

    const [chunk, done] = events(meter.cutBlocks(cutUsage));

    expect(JSON.parse(chunk?.data ?? '')).toEqual({
      id: 'c9',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'length' }],
      usage: {
        prompt_tokens: 2000,
        completion_tokens: 37,
        total_tokens: 2037,
        prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 5, audio_tokens: 0 },
      },
    });
    expect(done).toEqual({ event: null, data: '[DONE]' });
    expect(openaiUsage(JSON.parse(chunk?.data ?? '').usage)).toEqual(cutUsage);
  });

  it('ends a legacy completions stream with a text_completion chunk', () => {
    const bytes = openAiStreamCutBlocks('completions', {
      id: 'cmpl-1',
      model: 'gpt-3.5-turbo-instruct',
      created: 1796371200,
      lastSequence: null,
      choices: 2,
      usage: usageOf(10, 3),
    });

    const [chunk] = events(bytes);

    expect(JSON.parse(chunk?.data ?? '')).toMatchObject({
      id: 'cmpl-1',
      object: 'text_completion',
      created: 1796371200,
      choices: [
        { text: '', index: 0, logprobs: null, finish_reason: 'length' },
        { text: '', index: 1, logprobs: null, finish_reason: 'length' },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
    });
    expect(bytes.toString().endsWith('\n\ndata: [DONE]\n\n')).toBe(true);
  });

  it('ends a responses stream with response.incomplete for max_output_tokens', () => {
    const meter = createOpenAiStreamMeter('responses', visible);
    relay(cases.CASE_9A.slice(0, cases.CASE_9A.indexOf('event: response.completed')), meter);

    const [event] = events(meter.cutBlocks(cutUsage));

    expect(event?.event).toBe('response.incomplete');
    const json = JSON.parse(event?.data ?? '');
    expect(json).toMatchObject({
      type: 'response.incomplete',
      sequence_number: 2,
      response: {
        id: 'resp_1',
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        model: 'gpt-4o-mini',
        output: [],
      },
    });
    expect(openaiUsage(json.response.usage)).toEqual({ ...cutUsage });
  });
});

describe('openai stream meter: chunks of plain text', () => {
  it('counts the text of OpenAI-shaped chunks, escapes decoded, with the same result', () => {
    const texts = ['Hello', ' wörld', '\n- "a" \\ b', ''];
    const head = (extra: string): string =>
      `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,` +
      `"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1",` +
      `"choices":[{"index":0,${extra},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`;
    const body =
      head('"delta":{"role":"assistant","content":"","refusal":null}') +
      texts.map((t) => head(`"delta":{"content":${JSON.stringify(t)}}`)).join('') +
      'data: [DONE]\n\n';
    const seen: string[] = [];
    const meter = createOpenAiStreamMeter('chat', {
      hideUsageChunk: false,
      countTokens: (text) => {
        seen.push(text);
        return fourCharTokens(text);
      },
    });

    expect(relay(body, meter).forwarded).toBe(body);
    expect(seen).toEqual(['Hello', ' wörld', '\n- "a" \\ b']);
    expect(meter.countedOutputTokens()).toBe(2 + 2 + 3);
    expect(meter.result()).toEqual({
      usage: null,
      finishReason: null,
      status: 'completed',
      model: 'gpt-4o-2024-08-06',
      sawTerminator: true,
    });
  });
});

describe('openai stream meter: chunks read by pattern and by parse agree', () => {
  const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1741569952 };
  const choice = (delta: object, finish: string | null) => [
    { index: 0, delta, logprobs: null, finish_reason: finish },
  ];
  const payloads = [
    {
      ...head,
      model: 'gpt-4o',
      choices: choice({ role: 'assistant', content: '', refusal: null }, null),
      usage: null,
    },
    {
      ...head,
      model: 'gpt-4o',
      choices: choice({ content: 'Hello "there"\n' }, null),
      usage: null,
    },
    { ...head, model: 'gpt-4o', choices: choice({ content: 'again' }, null), usage: null },
    { ...head, model: 'gpt-4o', choices: choice({}, 'length'), usage: null },
    {
      ...head,
      model: 'gpt-4o',
      choices: [],
      usage: {
        prompt_tokens: 9,
        completion_tokens: 7,
        total_tokens: 16,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    },
  ];
  /** The same events, once in OpenAI's key order (read by pattern) and once reversed (parsed). */
  const stream = (reorder: boolean): string =>
    payloads
      .map((p) => (reorder ? Object.fromEntries(Object.entries(p).reverse()) : p))
      .map((p) => `data: ${JSON.stringify(p)}\n\n`)
      .join('') + 'data: [DONE]\n\n';

  it('gives the same result, count and hidden usage chunk either way', () => {
    const seen = [false, true].map((reorder) => {
      const meter = createOpenAiStreamMeter('chat', hidden);
      const { forwarded } = relay(stream(reorder), meter);
      return {
        hiddenChunks: stream(reorder).split('\n\n').length - forwarded.split('\n\n').length,
        result: meter.result(),
        counted: meter.countedOutputTokens(),
      };
    });
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]).toEqual({
      hiddenChunks: 1,
      result: {
        usage: openaiUsage({ prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 }),
        finishReason: 'length',
        status: 'incomplete',
        model: 'gpt-4o',
        sawTerminator: true,
      },
      counted: 6,
    });
  });
});
