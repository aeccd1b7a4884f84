import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/identity/keys.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { costUsd, everythingSent, rowOf } from '../support/ledger.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { anthropicEvents, anthropicMessage, anthropicUsage, namedSse } from '../support/wire.js';

const ENV = { ANTHROPIC_API_KEY: 'sk-ant-provider' };
const PRICING = `
pricing:
  models:
    claude-sonnet-4-5:
      input_per_mtok: 3
      cached_input_per_mtok: 0.3
      cache_write_per_mtok: 3.75
      output_per_mtok: 15
`;

let upstream: MockUpstream;
let gateway: TestGateway;
let open: TestGateway;
let virtualKey: string;
let keyId: string;

beforeAll(async () => {
  upstream = await startMockUpstream();
  const keysFile = join(mkdtempSync(join(tmpdir(), 'spendgate-keys-')), 'keys.yaml');
  const created = createKey(keysFile, { org: 'acme', team: 'research', user: 'dee' });
  virtualKey = created.key;
  keyId = created.id;
  const upstreams = `
upstreams:
  anthropic: { format: anthropic, base_url: ${upstream.url}, api_key_env: ANTHROPIC_API_KEY }
`;
  gateway = await startGateway(
    `${upstreams}identity:\n  api_keys: { file: ${keysFile} }\n${PRICING}`,
    { env: ENV },
  );
  // Behind another gateway that authenticates, attribution comes from plain headers.
  open = await startGateway(
    `${upstreams}identity: { require_credential: false }
attribution:
  tags: { app: [header:x-app] }
${PRICING}`,
    { env: ENV },
  );
});

afterAll(async () => {
  await gateway.close();
  await open.close();
  await upstream.close();
});

function anthropic(apiKey = virtualKey, target = gateway, headers: Record<string, string> = {}) {
  return new Anthropic({
    apiKey,
    baseURL: `${target.url}/anthropic`,
    maxRetries: 0,
    defaultHeaders: headers,
  });
}

function lastReceived() {
  const got = upstream.received.at(-1);
  if (!got) throw new Error('the upstream received nothing');
  return got;
}

const ASK = {
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: 'Say hello' }],
};

describe('anthropic sdk: messages through the gateway', () => {
  it('returns the text and prices cache reads and writes beside input_tokens', async () => {
    upstream.reply('/v1/messages', {
      kind: 'json',
      body: anthropicMessage('claude-sonnet-4-5', 'Hello!', anthropicUsage(20, 50, 200, 1000)),
    });

    const { data, response } = await anthropic().messages.create(ASK).withResponse();

    expect(data.content).toEqual([{ type: 'text', text: 'Hello!' }]);
    // 20 × 3/M + 1,000 read × 0.30/M + 200 written × 3.75/M + 50 × 15/M
    // = 0.00006 + 0.0003 + 0.00075 + 0.00075
    expect(response.headers.get('x-spendgate-cost-usd')).toBe('0.00186');
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      org: 'acme',
      team: 'research',
      user: 'dee',
      keyId,
      endpoint: '/v1/messages',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      streamed: false,
      inputTokens: 1220,
      cachedInputTokens: 1000,
      cacheWriteTokens: 200,
      outputTokens: 50,
      usageSource: 'provider',
    });
    expect(costUsd(row)).toBe('0.00186');
    expect(lastReceived().headers['x-api-key']).toBe('sk-ant-provider');
    expect(everythingSent(lastReceived())).not.toContain(virtualKey);
  });

  it('streams the deltas and records usage from message_start and message_delta', async () => {
    upstream.reply('/v1/messages', {
      kind: 'sse',
      chunks: namedSse(
        anthropicEvents('claude-sonnet-4-5', ['Hel', 'lo ', 'world'], anthropicUsage(30, 25)),
      ),
    });

    const stream = anthropic().messages.stream(ASK);
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    const message = await stream.finalMessage();
    const { response } = await stream.withResponse();

    expect(texts.join('')).toBe('Hello world');
    expect(message.content).toEqual([{ type: 'text', text: 'Hello world' }]);
    expect(message.usage.output_tokens).toBe(25);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-spendgate-cost-usd')).toBeNull();
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      org: 'acme',
      team: 'research',
      user: 'dee',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      streamed: true,
      inputTokens: 30,
      outputTokens: 25,
      usageSource: 'provider',
    });
    // 30 × 3/M + 25 × 15/M
    expect(costUsd(row)).toBe('0.000465');
    expect(everythingSent(lastReceived())).not.toContain(virtualKey);
  });
});

describe('anthropic sdk: attribution from headers when no credential is required', () => {
  it('takes every dimension from headers and swaps in the provider key', async () => {
    upstream.reply('/v1/messages', {
      kind: 'json',
      body: anthropicMessage('claude-sonnet-4-5', 'Hi', anthropicUsage(10, 4)),
    });
    const client = anthropic('sk-ant-client-own', open, {
      'x-org-id': 'globex',
      'x-team-id': 'ml',
      'x-user-id': 'bo',
      'x-endpoint': 'summarize',
      'x-app': 'notes',
    });

    const { data, response } = await client.messages.create(ASK).withResponse();

    expect(data.content).toEqual([{ type: 'text', text: 'Hi' }]);
    // 10 × 3/M + 4 × 15/M
    expect(response.headers.get('x-spendgate-cost-usd')).toBe('0.00009');
    const row = await rowOf(open, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      org: 'globex',
      team: 'ml',
      user: 'bo',
      endpoint: 'summarize',
      tags: { app: 'notes' },
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: 10,
      outputTokens: 4,
    });
    expect(costUsd(row)).toBe('0.00009');
    expect(lastReceived().headers['x-api-key']).toBe('sk-ant-provider');
    expect(everythingSent(lastReceived())).not.toContain('sk-ant-client-own');
  });
});
