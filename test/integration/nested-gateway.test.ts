import { beforeAll, describe, expect, it } from 'vitest';
import { gatewayOverMock } from '../support/gateway.js';
import { post } from '../support/http.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// The upstream here stands for another Spendgate: it answers with its own x-spendgate-* headers.
const env = gatewayOverMock(
  (url) => `
identity: { require_credential: false }
upstreams:
  inner: { format: openai, base_url: ${url} }
`,
);

beforeAll(() => {
  env.upstream.reply('/v1/chat/completions', {
    kind: 'json',
    headers: {
      'x-spendgate-request-id': 'inner-request-id',
      'x-spendgate-cost-usd': '0.0123',
      'x-spendgate-budget-warning': 'inner-daily; used=91%',
      'x-request-id': 'req_provider',
    },
    body: chatCompletion('house-model', 'OK', chatUsage(1_000, 10)),
  });
});

describe('a Spendgate behind this one', () => {
  it('does not pass its own x-spendgate headers to the client as if they were this one’s', async () => {
    const answer = await post(`${env.gateway.url}/inner/v1/chat/completions`, {
      model: 'house-model',
      messages: [{ role: 'user', content: 'hi' }],
    });

    expect(answer.status).toBe(200);
    // This gateway has no price for the model, so it sends no cost of its own.
    expect(answer.headers.get('x-spendgate-cost-usd')).toBeNull();
    expect(answer.headers.get('x-spendgate-budget-warning')).toBeNull();
    expect(answer.headers.get('x-spendgate-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers.get('x-request-id')).toBe('req_provider');
    const [row] = await env.gateway.rows();
    expect(row).toMatchObject({ status: 200, costPico: null });
    expect(row?.flags).toContain('unpriced_model');
  });
});
