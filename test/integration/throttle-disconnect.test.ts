import { beforeAll, describe, expect, it } from 'vitest';
import { gatewayOverMock, openAiGatewayYaml } from '../support/gateway.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

const env = gatewayOverMock(
  (url) => `
${openAiGatewayYaml(url)}budgets:
  - name: slow-down
    scope: { org: "*" }
    limit_usd: 1
    period: 1d
    actions: [{ at: 0.1, do: throttle, delay_ms: [2000, 2000] }, { at: 100, do: reject }]
`,
);

beforeAll(() => {
  env.upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: chatCompletion('gpt-4o', 'OK', chatUsage(1_000, 10)),
  });
});

describe('a client that leaves during its throttle delay', () => {
  it('is recorded as closed by the client, not as a refusal, and nothing is forwarded', async () => {
    await fetch(`${env.gateway.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': 'impatient' },
      body: JSON.stringify({
        model: 'gpt-4o',
        max_tokens: 4000,
        messages: [{ role: 'user', content: 'hi' }],
      }),
      signal: AbortSignal.timeout(100),
    }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const row = (await env.gateway.rows()).find((r) => r.org === 'impatient');
    expect(row).toMatchObject({ status: 499, decision: 'throttle', reason: null, costPico: 0n });
    expect(row?.flags).toContain('client_disconnected');
    expect(env.upstream.received).toHaveLength(0);
  });

  it('is recorded the same way on an unmetered endpoint, and nothing is forwarded', async () => {
    // Unmetered calls reserve nothing: $0.0026 spent first puts the org past 0.1% of $1.
    const spent = await fetch(`${env.gateway.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': 'leaves-files' },
      body: JSON.stringify({
        model: 'gpt-4o',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(spent.status).toBe(200);
    await spent.text();

    await fetch(`${env.gateway.url}/openai/v1/files`, {
      headers: { 'x-org-id': 'leaves-files' },
      signal: AbortSignal.timeout(100),
    }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const row = (await env.gateway.rows()).find(
      (r) => r.org === 'leaves-files' && r.endpoint === '/v1/files',
    );
    expect(row).toMatchObject({ status: 499, decision: 'throttle', reason: null, costPico: 0n });
    expect(row?.flags).toEqual(['unmetered', 'client_disconnected']);
    expect(env.upstream.received.map((r) => r.url)).toEqual(['/v1/chat/completions']);
  });
});
