import { describe, expect, it } from 'vitest';
import { postStream, relayGateway, sseEvent } from '../support/relay.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { chatChunks, chatUsage } from '../support/wire.js';

// The rewritten upstream relay (UpstreamCall + relaySse) under hostile stream shapes: reads
// split at odd byte positions, events without their blank line, very many or very large
// events, resets and timeouts. Each case checks the exact bytes the client got and its row.
const env = relayGateway({ timeout: '1s' });

/** A streamed chat request to `path` (the mock picks its script by path suffix). */
async function stream(path: string, includeUsage = false) {
  const res = await postStream(env, {
    path: `/v1/${path}/chat/completions`,
    maxTokens: 50,
    includeUsage,
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const row = await rowOf(env.gateway, res.headers.get('x-spendgate-request-id'));
  return { status: res.status, bytes, text: bytes.toString('utf8'), row };
}

/** Cuts `bytes` at the given offsets into separate writes. */
function splitAt(bytes: Buffer, offsets: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const at of offsets) {
    out.push(bytes.subarray(from, at));
    from = at;
  }
  out.push(bytes.subarray(from));
  return out;
}

describe('relaySse: reads split at odd byte positions', () => {
  it('relays CRLF events split inside UTF-8 and between CR and LF byte for byte, hiding the usage chunk', async () => {
    const payloads = chatChunks(
      'gpt-4o',
      ['h\u00e9llo', ' w\u00f6rld ', '\u{1F600}!'],
      chatUsage(100, 7),
    );
    const events = payloads.map((p) => `data: ${JSON.stringify(p)}\r\n\r\n`);
    events.push('data: [DONE]\r\n\r\n');
    const all = Buffer.from(events.join(''));
    // Offsets: inside é (2 bytes), inside the emoji (4 bytes), between every CR and LF.
    const offsets = new Set<number>();
    const e = all.indexOf(Buffer.from('\u00e9'));
    offsets.add(e + 1);
    const emoji = all.indexOf(Buffer.from('\u{1F600}'));
    offsets
      .add(emoji + 1)
      .add(emoji + 2)
      .add(emoji + 3);
    for (let i = all.indexOf('\r'); i !== -1; i = all.indexOf('\r', i + 1)) offsets.add(i + 1);
    env.upstream.reply('/split/chat/completions', {
      kind: 'sse',
      chunks: splitAt(
        all,
        [...offsets].sort((a, b) => a - b),
      ),
      gapMs: 3,
    });

    const got = await stream('split');

    const usageEvent = events[events.length - 2]!;
    expect(got.status).toBe(200);
    expect(got.text).toBe(events.filter((x) => x !== usageEvent).join(''));
    expect(got.row.inputTokens).toBe(100);
    expect(got.row.outputTokens).toBe(7);
    expect(got.row.usageSource).toBe('provider');
    expect(costUsd(got.row)).toBe('0.00032');
    expect(got.row.flags).toEqual([]);
  });
});

describe('relaySse: stream endings', () => {
  it('adds the blank line to a whole last event that lacks it', async () => {
    const events = chatChunks('gpt-4o', ['Hi'], chatUsage(100, 7)).map(sseEvent);
    env.upstream.reply('/noblank/chat/completions', {
      kind: 'sse',
      chunks: [...events, 'data: [DONE]'],
    });
    const got = await stream('noblank', true);
    expect(got.text).toBe(events.join('') + 'data: [DONE]\n\n');
    expect(got.row.outputTokens).toBe(7);
    expect(got.row.usageSource).toBe('provider');
    expect(got.row.flags).toEqual([]);
  });

  it('adds the blank line to a usage chunk that ends the body without it, read as provider usage', async () => {
    const events = chatChunks('gpt-4o', ['Hi'], chatUsage(100, 7)).map(sseEvent);
    const last = events.pop()!.slice(0, -2);
    env.upstream.reply('/nodone/chat/completions', { kind: 'sse', chunks: [...events, last] });
    const got = await stream('nodone', true);
    expect(got.text).toBe(events.join('') + last + '\n\n');
    expect(got.row.outputTokens).toBe(7);
    expect(got.row.usageSource).toBe('provider');
    expect(costUsd(got.row)).toBe('0.00032');
  });

  it('drops a truncated last fragment and charges what was delivered', async () => {
    const events = chatChunks('gpt-4o', ['Hello there'], null).map(sseEvent).slice(0, 2);
    env.upstream.reply('/frag/chat/completions', {
      kind: 'sse',
      chunks: [...events, 'data: {"id":"chatcmpl-sg2","object":"chat.comp'],
    });
    const got = await stream('frag', true);
    expect(got.text).toBe(events.join(''));
    expect(got.row.flags).toEqual(['truncated_stream', 'incomplete']);
    expect(got.row.usageSource).toBe('estimated');
    expect(got.row.inputTokens).toBe(9);
    expect(got.row.outputTokens).toBe(2);
    expect(costUsd(got.row)).toBe('0.0000425');
  });
});

describe('relaySse: many and large events', () => {
  it('relays 10,000 tiny events exactly, in few large reads', async () => {
    const payloads = chatChunks(
      'gpt-4o',
      Array.from({ length: 10_000 }, () => 'a'),
      chatUsage(100, 10_000),
    );
    const events = payloads.map(sseEvent);
    events.push('data: [DONE]\n\n');
    const all = events.join('');
    const chunks: string[] = [];
    for (let i = 0; i < all.length; i += 65_521) chunks.push(all.slice(i, i + 65_521));
    env.upstream.reply('/tiny/chat/completions', { kind: 'sse', chunks, gapMs: 1 });
    const got = await stream('tiny', true);
    expect(got.text).toBe(all);
    expect(got.row.countedOutputTokens).toBe(1250);
    expect(got.row.outputTokens).toBe(10_000);
    expect(costUsd(got.row)).toBe('0.10025');
  });

  it('relays one 1 MB event whole', async () => {
    const big = 'word '.repeat(200_000);
    const events = chatChunks('gpt-4o', [big], chatUsage(100, 200_000)).map(sseEvent);
    events.push('data: [DONE]\n\n');
    env.upstream.reply('/big/chat/completions', { kind: 'sse', chunks: events });
    const got = await stream('big', true);
    expect(got.bytes.length).toBe(Buffer.byteLength(events.join('')));
    expect(got.text).toBe(events.join(''));
    expect(got.row.countedOutputTokens).toBe(200_001);
    expect(costUsd(got.row)).toBe('2.00025');
  });
});

describe('relaySse: upstream failures mid-stream', () => {
  it('an upstream reset ends the stream with an error event and charges what was delivered', async () => {
    const events = chatChunks('gpt-4o', ['Hello', ' there'], null).map(sseEvent).slice(0, 3);
    env.upstream.reply('/reset/chat/completions', { kind: 'sse', chunks: events, reset: true });
    const got = await stream('reset');
    expect(got.status).toBe(200);
    expect(got.text).toBe(
      events.join('') +
        'data: {"error":{"message":"the upstream stream failed: UND_ERR_SOCKET (other side closed)","type":"upstream_unavailable","code":"upstream_unavailable"}}\n\n',
    );
    expect(got.row.decision).toBe('error');
    expect(got.row.reason).toBe('upstream_unavailable');
    expect(got.row.flags).toEqual(['upstream_reset', 'incomplete']);
    expect(got.row.usageSource).toBe('estimated');
    expect(got.row.outputTokens).toBe(2);
    expect(costUsd(got.row)).toBe('0.0000425');
  });

  it('a body gap past the timeout ends the stream with an error event', async () => {
    const events = chatChunks('gpt-4o', ['Hello', ' there'], null).map(sseEvent).slice(0, 3);
    env.upstream.reply('/gap/chat/completions', { kind: 'sse', chunks: events, hang: true });
    const got = await stream('gap');
    expect(got.text).toBe(
      events.join('') +
        'data: {"error":{"message":"the upstream stream failed: UND_ERR_BODY_TIMEOUT (Body Timeout Error)","type":"upstream_unavailable","code":"upstream_unavailable"}}\n\n',
    );
    expect(got.row.flags).toEqual(['upstream_reset', 'incomplete']);
    expect(got.row.outputTokens).toBe(2);
    expect(costUsd(got.row)).toBe('0.0000425');
  });

  it('no headers within the timeout gives 504', async () => {
    env.upstream.reply('/nohead/chat/completions', { kind: 'hang' });
    const got = await stream('nohead');
    expect(got.status).toBe(504);
    expect(JSON.parse(got.text)).toEqual({
      error: {
        message: 'upstream "openai" did not answer within 1s',
        type: 'upstream_unavailable',
        code: 'upstream_unavailable',
      },
    });
    expect(got.row.status).toBe(504);
    expect(got.row.decision).toBe('error');
    expect(costUsd(got.row)).toBe('0');
  });
});
