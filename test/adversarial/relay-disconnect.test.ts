import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { relayGateway, repeatedDeltaStream, sseEvent } from '../support/relay.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { chatChunks, chatUsage } from '../support/wire.js';

// A client that leaves mid-stream, and a slowly reading client on a stream its budget cuts:
// one row each, charged for what was relayed (SPEC "Bad input", docs/budgets.md "Streams").
const env = relayGateway({
  timeout: '5s',
  budgets: ['{ name: tight, scope: { org: "tight" }, limit_usd: 0.01, period: 1d, streams: cut }'],
});

const BODY = JSON.stringify({
  model: 'gpt-4o',
  messages: [{ role: 'user', content: 'Say hi' }],
  stream: true,
  max_tokens: 50,
});

/** Opens a stream, reads until `until(text)` holds, then drops the connection. */
function readThenLeave(
  path: string,
  until: (text: string) => boolean,
): Promise<{ id: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${env.gateway.url}/openai/v1/${path}/chat/completions`,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        const id = String(res.headers['x-spendgate-request-id']);
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (until(text)) {
            req.destroy();
            resolve({ id, text });
          }
        });
      },
    );
    req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
    req.end(BODY);
  });
}

describe('relaySse: a client that leaves mid-stream', () => {
  it('leaves one row flagged client_disconnected, charged for the deltas delivered', async () => {
    const events = chatChunks('gpt-4o', ['Hello', ' there', ' friend'], chatUsage(9, 3))
      .map(sseEvent)
      .slice(0, 4);
    env.upstream.reply('/leave/chat/completions', { kind: 'sse', chunks: events, hang: true });
    const got = await readThenLeave('leave', (t) => t === events.join(''));
    const row = await rowOf(env.gateway, got.id);
    const rows = (await env.gateway.rows()).filter((r) => r.requestId === got.id);
    expect(rows).toHaveLength(1);
    expect(row.status).toBe(200);
    expect(row.flags).toEqual(['client_disconnected', 'incomplete']);
    expect(row.usageSource).toBe('estimated');
    expect(row.inputTokens).toBe(9);
    expect(row.outputTokens).toBe(3);
    expect(costUsd(row)).toBe('0.0000525');
  });
});

describe('relaySse: a slow client on a stream its budget cuts', () => {
  it('ends with the clean cut ending, and the row matches the usage the client was told', async () => {
    const delta = ' word'.repeat(40); // 40 tokens
    const { events, reads } = repeatedDeltaStream({
      count: 2_000,
      delta,
      usage: chatUsage(9, 80_000),
      perRead: 20,
    });
    const all = events.join('');
    env.upstream.reply('/slowcut/chat/completions', { kind: 'sse', chunks: reads, gapMs: 1 });

    const { id, text } = await new Promise<{ id: string; text: string }>((resolve, reject) => {
      const req = request(
        `${env.gateway.url}/openai/v1/slowcut/chat/completions`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-org-id': 'tight' } },
        (res) => {
          const id = String(res.headers['x-spendgate-request-id']);
          let text = '';
          // Reads a little, then waits. (Large events under back-pressure stall: see the report.)
          res.on('data', (c: Buffer) => {
            text += c.toString();
            res.pause();
            setTimeout(() => res.resume(), 15);
          });
          res.on('end', () => resolve({ id, text }));
        },
      );
      req.on('error', reject);
      req.end(BODY);
    });
    const row = await rowOf(env.gateway, id);
    const blocks = text.split('\n\n');
    expect(blocks.pop()).toBe('');
    expect(blocks.pop()).toBe('data: [DONE]');
    const ending = JSON.parse(blocks.pop()!.slice(6));
    const relayed = blocks.map((b) => b + '\n\n').join('');
    expect(all.startsWith(relayed)).toBe(true);
    expect(ending.choices[0].finish_reason).toBe('length');
    expect(row.flags).toEqual(['budget_cut', 'incomplete']);
    expect(row.outputTokens).toBe(ending.usage.completion_tokens);
    expect(row.inputTokens).toBe(ending.usage.prompt_tokens);
    expect(row.outputTokens).toBe((blocks.length - 1) * 40);
    expect(row.costPico! <= 10_000_000_000n).toBe(true);
  });
});

describe('a client that leaves a stream before the upstream answers', () => {
  it('is charged the prompt it sent upstream, estimated, and recorded as 499', async () => {
    env.upstream.reply('/early-leave/chat/completions', { kind: 'hang' });
    const req = request(`${env.gateway.url}/openai/v1/early-leave/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', () => undefined);
    req.end(BODY);
    // Leave once the upstream has the request, before any answer.
    for (
      let i = 0;
      i < 100 && !env.upstream.received.some((r) => r.url.includes('early-leave'));
      i++
    )
      await new Promise((resolve) => setTimeout(resolve, 10));
    req.destroy();

    let row;
    for (let i = 0; i < 100 && !row; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      row = (await env.gateway.rows()).find(
        (r) => r.endpoint === '/v1/early-leave/chat/completions',
      );
    }
    expect(row).toMatchObject({
      status: 499,
      decision: 'allow',
      flags: ['client_disconnected', 'incomplete'],
      usageSource: 'estimated',
      outputTokens: 0,
    });
    expect(row!.inputTokens).toBeGreaterThan(0);
    expect(row!.inputTokens).toBe(row!.countedInputTokens);
    // $2.50 per million prompt tokens, nothing else.
    expect(row!.costPico).toBe(BigInt(row!.inputTokens) * 2_500_000n);
  });
});
