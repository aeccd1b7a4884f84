// Copy into test/adversarial/ to run: `npx vitest run test/adversarial/relay-bugs-found.test.ts`.
import { describe, expect, it } from 'vitest';
import { relayGateway, repeatedDeltaStream, sseEvent } from '../support/relay.js';
import { rowOf } from '../support/ledger.js';
import { chatChunks, chatUsage } from '../support/wire.js';

// Faults an adversarial pass found in the stream relay (src/proxy/stream-relay.ts) and the
// pattern reading of OpenAI chunks (src/providers/openai/plain-chunk.ts); each test failed
// before its fix.
const env = relayGateway({
  timeout: '5s',
  budgets: ['{ name: cut2, scope: { org: "cut" }, limit_usd: 2, period: 1d, streams: cut }'],
});

async function chat(path: string, headers: Record<string, string> = {}, timeoutMs = 5_000) {
  const res = await fetch(`${env.gateway.url}/openai/v1/${path}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Say hi' }],
      stream: true,
      max_tokens: 50,
    }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, text, id: res.headers.get('x-spendgate-request-id') };
}

describe('a stream a budget can cut, read by a fast client in large reads', () => {
  // Ordinary ~430-byte events, arriving 100 to a read (~43 KB: res.write returns false even to a
  // fast client, whose socket then takes it all at once and emits 'drain' on the next tick);
  // the budget needs a further reservation (cut.reached() returns a Promise), and 'drain' may
  // fire before that settles: the relay must not then wait for it.
  it('a fast client gets the cut ending and the row is written', async () => {
    const delta = ' word'.repeat(40); // 40 tokens per event
    const { events, reads } = repeatedDeltaStream({
      count: 20_000,
      delta,
      usage: chatUsage(9, 800_000),
      perRead: 100,
    });
    env.upstream.reply('/stall/chat/completions', { kind: 'sse', chunks: reads, gapMs: 1 });

    const got = await chat('stall', { 'x-org-id': 'cut' });
    expect(got.status).toBe(200);
    expect(got.text.endsWith('data: [DONE]\n\n')).toBe(true);
    const row = await rowOf(env.gateway, got.id);
    expect(row.flags).toEqual(['budget_cut', 'incomplete']);
  });
});

describe('a text chunk of 9 MB', () => {
  // The chunk pattern's backtracking overflowed V8's regexp stack (RangeError) from about
  // 8.39M characters; such chunks are left to JSON.parse.
  it('relays a 9 MB delta and charges the provider usage', async () => {
    const big = 'x'.repeat(9_000_000);
    const events = chatChunks('gpt-4o', [big], chatUsage(9, 1_125_000)).map(sseEvent);
    events.push('data: [DONE]\n\n');
    env.upstream.reply('/huge/chat/completions', { kind: 'sse', chunks: events });
    const got = await chat('huge', {}, 15_000);
    const usageEvent = events[events.length - 2]!;
    expect(got.text).toBe(events.filter((e) => e !== usageEvent).join(''));
    const row = await rowOf(env.gateway, got.id);
    expect(row.flags).toEqual([]);
    expect(row.usageSource).toBe('provider');
    expect(row.outputTokens).toBe(1_125_000);
  });
});

describe('a chunk with a leading-zero "created" (not JSON)', () => {
  // "created":01796371200 is invalid JSON: JSON.parse refuses the chunk, so its usage is not
  // the provider's word, and the pattern must refuse it too.
  it("charges the same as a JSON.parse reading: the estimate, not the invalid chunk's usage", async () => {
    const events = chatChunks('gpt-4o', ['Hi'], chatUsage(9, 1_000)).map(sseEvent);
    events[events.length - 1] = events[events.length - 1]!.replace(
      '"created":1796371200',
      '"created":01796371200',
    );
    events.push('data: [DONE]\n\n');
    env.upstream.reply('/zero/chat/completions', { kind: 'sse', chunks: events });
    const got = await chat('zero');
    const row = await rowOf(env.gateway, got.id);
    expect(row.usageSource).toBe('estimated');
    expect(row.outputTokens).toBe(1);
  });
});

describe('a hidden usage chunk that ends the body without its blank line', () => {
  // The client did not ask for usage, so the gateway hides the usage chunk; hidden is not
  // truncated. With include_usage set by the client the same bytes give the same row.
  it('records the provider usage with no truncated_stream flag', async () => {
    const events = chatChunks('gpt-4o', ['Hi'], chatUsage(100, 7)).map(sseEvent);
    const last = events.pop()!.slice(0, -2); // the usage chunk without "\n\n", and no [DONE]
    env.upstream.reply('/hidden-last/chat/completions', { kind: 'sse', chunks: [...events, last] });
    const got = await chat('hidden-last');
    expect(got.text).toBe(events.join(''));
    const row = await rowOf(env.gateway, got.id);
    expect(row.flags).toEqual([]);
    expect(row.usageSource).toBe('provider');
  });
});

describe('an upstream that resets the connection after the terminator', () => {
  it('has delivered the whole stream: no error event, provider usage, no flags', async () => {
    const events = chatChunks('gpt-4o', ['Hi'], chatUsage(100, 7)).map(sseEvent);
    events.push('data: [DONE]\n\n');
    env.upstream.reply('/reset-after-done/chat/completions', {
      kind: 'sse',
      chunks: events,
      reset: true,
    });
    const got = await chat('reset-after-done');
    // The usage chunk the gateway asked for is hidden; everything else arrives, and nothing more.
    expect(got.text).toBe(events.filter((e) => !e.includes('"usage":{')).join(''));
    const row = await rowOf(env.gateway, got.id);
    expect(row.flags).toEqual([]);
    expect(row.usageSource).toBe('provider');
    expect(row.outputTokens).toBe(7);
  });
});
