import { describe, expect, it } from 'vitest';
import { postStream, relayGateway, sseEvent } from '../support/relay.js';
import { chatChunks, chatUsage } from '../support/wire.js';

// 200 streams at once through the rewritten relay: each client gets exactly its own bytes,
// and the ledger holds exactly one row per stream with that stream's provider usage.
const env = relayGateway({ timeout: '10s' });

const N = 200;

const eventsFor = (n: number): string[] => {
  const events = chatChunks(
    'gpt-4o',
    Array.from({ length: 20 }, (_, i) => ` s${n}w${i}`),
    chatUsage(10, n),
  ).map(sseEvent);
  events.push('data: [DONE]\n\n');
  return events;
};

describe('200 concurrent streams', () => {
  it('relays each stream exactly and records one row each, none lost or doubled', async () => {
    env.upstream.reply('/v1/chat/completions', (req) => ({
      kind: 'sse',
      chunks: eventsFor(Number(req.headers['x-n'])),
      gapMs: 2,
    }));
    const results = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const n = i + 1;
        const res = await postStream(env, {
          maxTokens: 500,
          includeUsage: true,
          headers: { 'x-n': String(n) },
        });
        return { n, id: res.headers.get('x-spendgate-request-id'), text: await res.text() };
      }),
    );
    for (const r of results) expect(r.text).toBe(eventsFor(r.n).join(''));

    await new Promise((resolve) => setTimeout(resolve, 300));
    const rows = await env.gateway.rows();
    expect(rows).toHaveLength(N);
    const byId = new Map(rows.map((r) => [r.requestId, r]));
    expect(byId.size).toBe(N);
    let total = 0n;
    for (const r of results) {
      const row = byId.get(r.id!)!;
      expect(row.outputTokens).toBe(r.n);
      expect(row.inputTokens).toBe(10);
      expect(row.usageSource).toBe('provider');
      expect(row.flags).toEqual([]);
      total += row.costPico!;
    }
    // 200 × 10 prompt tokens at $2.50/M + (1 + … + 200) output tokens at $10/M.
    expect(total).toBe(200n * 25_000_000n + 20_100n * 10_000_000n);
  });
});
