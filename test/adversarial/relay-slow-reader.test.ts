import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { relayGateway, repeatedDeltaStream } from '../support/relay.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { chatUsage } from '../support/wire.js';

// A client that stops reading a long stream for longer than the upstream timeout: the relay
// pauses the upstream body (back-pressure), and that pause is the client's, not an upstream gap,
// so the stream must still complete byte for byte once the client reads again.
const env = relayGateway({ timeout: '1s' });

describe('relaySse: a reader slower than the upstream timeout', () => {
  it('completes the stream after a 2.5 s stall in reading, with the provider usage', async () => {
    const delta = ' word'.repeat(1_000);
    const { events, reads } = repeatedDeltaStream({
      count: 2_000,
      delta,
      usage: chatUsage(9, 2_000_000),
      perRead: 50,
    });
    env.upstream.reply('/stall/chat/completions', { kind: 'sse', chunks: reads, gapMs: 1 });

    const got = await new Promise<{ id: string; text: string }>((resolve, reject) => {
      const req = request(
        `${env.gateway.url}/openai/v1/stall/chat/completions`,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          const id = String(res.headers['x-spendgate-request-id']);
          const parts: Buffer[] = [];
          res.pause();
          setTimeout(() => res.resume(), 2_500);
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ id, text: Buffer.concat(parts).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(
        JSON.stringify({
          model: 'gpt-4o',
          messages: [{ role: 'user', content: 'Say hi' }],
          stream: true,
          max_tokens: 50,
          stream_options: { include_usage: true },
        }),
      );
    });
    const row = await rowOf(env.gateway, got.id);
    expect(row.flags).toEqual([]);
    expect(got.text.length).toBe(events.join('').length);
    expect(got.text).toBe(events.join(''));
    expect(row.outputTokens).toBe(2_000_000);
    expect(costUsd(row)).toBe('20.0000225');
  });
});
