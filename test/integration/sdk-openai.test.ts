import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/identity/keys.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { costUsd, everythingSent, rowOf } from '../support/ledger.js';
import {
  openAiSse,
  startMockUpstream,
  type MockUpstream,
  type ReceivedRequest,
} from '../support/mock-upstream.js';
import {
  chatChunks,
  chatCompletion,
  chatUsage,
  embeddingList,
  namedSse,
  responseEvents,
  responseObject,
  responsesUsage,
} from '../support/wire.js';

// Prices are the test's own (pricing.models), so every expected cost below is worked out by hand.
const ENV = {
  OPENAI_API_KEY: 'sk-test',
  AZURE_OPENAI_API_KEY: 'azure-provider-key',
  JWT_SECRET: 'a-32-byte-secret-for-hs256-tests!',
};

let upstream: MockUpstream;
let gateway: TestGateway;
let virtualKey: string;
let keyId: string;

beforeAll(async () => {
  upstream = await startMockUpstream();
  const keysFile = join(mkdtempSync(join(tmpdir(), 'spendgate-keys-')), 'keys.yaml');
  const created = createKey(keysFile, { org: 'acme', team: 'search', user: 'ana' });
  virtualKey = created.key;
  keyId = created.id;
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url}, api_key_env: OPENAI_API_KEY }
  azure:
    format: azure-openai
    base_url: ${upstream.url}
    api_key_env: AZURE_OPENAI_API_KEY
    deployments: { chat-prod-eu: gpt-4o-2024-08-06 }
identity:
  jwt: { hs256_secret_env: JWT_SECRET, issuer: https://id.example, audience: llm }
  api_keys: { file: ${keysFile} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.5, cached_input_per_mtok: 1.25, output_per_mtok: 10 }
    gpt-4o-2024-08-06: { input_per_mtok: 2.5, output_per_mtok: 10 }
    text-embedding-3-small: { input_per_mtok: 0.02, output_per_mtok: 0 }
`,
    { env: ENV },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

function openai(apiKey = virtualKey): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
}

function azure(): AzureOpenAI {
  return new AzureOpenAI({
    endpoint: `${gateway.url}/azure`,
    apiKey: virtualKey,
    apiVersion: '2024-10-21',
    deployment: 'chat-prod-eu',
    maxRetries: 0,
  });
}

/** Like the real API, the mock sends stream usage only when the body asks for it. */
function wantsUsage(body: string): boolean {
  const parsed = JSON.parse(body) as { stream_options?: { include_usage?: boolean } };
  return parsed.stream_options?.include_usage === true;
}

function usageIf(body: string, prompt: number, completion: number) {
  return wantsUsage(body) ? chatUsage(prompt, completion) : null;
}

function lastReceived(): ReceivedRequest {
  const got = upstream.received.at(-1);
  if (!got) throw new Error('the upstream received nothing');
  return got;
}

/** The provider key went upstream, and no Spendgate credential did. */
function expectOnlyProviderKey(secret: string, header: string, value: string): void {
  const got = lastReceived();
  expect(got.headers[header]).toBe(value);
  expect(everythingSent(got)).not.toContain(secret);
}

const KEY_IDENTITY = { org: 'acme', team: 'search', user: 'ana', provider: 'openai' };

describe('openai sdk: chat completions through the gateway', () => {
  it('returns the text and records the cost of a non-streamed call', async () => {
    upstream.reply('/v1/chat/completions', {
      kind: 'json',
      body: chatCompletion('gpt-4o-2024-08-06', 'Hello from the mock', chatUsage(1200, 300, 1024)),
    });

    const { data, response } = await openai()
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();

    expect(data.choices[0]?.message.content).toBe('Hello from the mock');
    // 176 uncached × 2.50/M + 1,024 cached × 1.25/M + 300 × 10/M = 0.00044 + 0.00128 + 0.003
    expect(response.headers.get('x-spendgate-cost-usd')).toBe('0.00472');
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      ...KEY_IDENTITY,
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o',
      keyId,
      streamed: false,
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 300,
      usageSource: 'provider',
      status: 200,
    });
    expect(costUsd(row)).toBe('0.00472');
    expectOnlyProviderKey(virtualKey, 'authorization', 'Bearer sk-test');
  });

  it('streams the deltas, hides the usage chunk it asked for, and records the usage', async () => {
    upstream.reply('/v1/chat/completions', (req) => ({
      kind: 'sse',
      chunks: openAiSse(
        chatChunks('gpt-4o-2024-08-06', ['Hel', 'lo ', 'there'], usageIf(req.body, 40, 12)),
      ),
    }));

    const { data: stream, response } = await openai()
      .chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      })
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello there');
    expect(chunks.filter((c) => c.choices.length === 0)).toEqual([]);
    expect(JSON.parse(lastReceived().body).stream_options).toEqual({ include_usage: true });
    expect(response.headers.get('x-spendgate-cost-usd')).toBeNull();
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      ...KEY_IDENTITY,
      model: 'gpt-4o',
      streamed: true,
      inputTokens: 40,
      outputTokens: 12,
      usageSource: 'provider',
    });
    // 40 × 2.50/M + 12 × 10/M
    expect(costUsd(row)).toBe('0.00022');
    expectOnlyProviderKey(virtualKey, 'authorization', 'Bearer sk-test');
  });
});

describe('openai sdk: responses api through the gateway', () => {
  it('returns output_text and records the cost of a non-streamed response', async () => {
    upstream.reply('/v1/responses', {
      kind: 'json',
      body: responseObject('gpt-4o-2024-08-06', 'A short answer', responsesUsage(500, 50)),
    });

    const { data, response } = await openai()
      .responses.create({ model: 'gpt-4o', input: 'Answer briefly' })
      .withResponse();

    expect(data.output_text).toBe('A short answer');
    // 500 × 2.50/M + 50 × 10/M
    expect(response.headers.get('x-spendgate-cost-usd')).toBe('0.00175');
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      ...KEY_IDENTITY,
      endpoint: '/v1/responses',
      model: 'gpt-4o',
      inputTokens: 500,
      outputTokens: 50,
      usageSource: 'provider',
    });
    expect(costUsd(row)).toBe('0.00175');
  });

  it('streams every event in order and records the usage of response.completed', async () => {
    upstream.reply('/v1/responses', {
      kind: 'sse',
      chunks: namedSse(
        responseEvents('gpt-4o-2024-08-06', ['Str', 'eam', 'ed'], responsesUsage(800, 20)),
      ),
    });

    const { data: stream, response } = await openai()
      .responses.create({ model: 'gpt-4o', input: 'Stream it', stream: true })
      .withResponse();
    const events = [];
    for await (const event of stream) events.push(event);

    expect(events.map((e) => e.sequence_number)).toEqual([...events.keys()]);
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? e.delta : []));
    expect(deltas.join('')).toBe('Streamed');
    expect(events.at(-1)?.type).toBe('response.completed');
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      ...KEY_IDENTITY,
      endpoint: '/v1/responses',
      streamed: true,
      inputTokens: 800,
      outputTokens: 20,
      usageSource: 'provider',
    });
    // 800 × 2.50/M + 20 × 10/M
    expect(costUsd(row)).toBe('0.0022');
  });
});

describe('openai sdk: embeddings through the gateway', () => {
  it('returns the decoded vector and records the prompt tokens', async () => {
    upstream.reply('/v1/embeddings', (req) => ({
      kind: 'json',
      body: embeddingList(
        'text-embedding-3-small',
        [0.5, -0.25, 0.125],
        8,
        JSON.parse(req.body).encoding_format === 'base64',
      ),
    }));

    const { data, response } = await openai()
      .embeddings.create({ model: 'text-embedding-3-small', input: 'the quick brown fox' })
      .withResponse();

    expect(Array.from(data.data[0]?.embedding ?? [])).toEqual([0.5, -0.25, 0.125]);
    // 8 × 0.02/M
    expect(response.headers.get('x-spendgate-cost-usd')).toBe('0.00000016');
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      ...KEY_IDENTITY,
      endpoint: '/v1/embeddings',
      model: 'text-embedding-3-small',
      inputTokens: 8,
      outputTokens: 0,
      usageSource: 'provider',
    });
    expect(costUsd(row)).toBe('0.00000016');
  });
});

describe('openai sdk: azure openai deployments through the gateway', () => {
  const path = '/openai/deployments/chat-prod-eu/chat/completions';

  it('prices a call by the deployment mapping and swaps in the azure key', async () => {
    upstream.reply(path, {
      kind: 'json',
      body: chatCompletion('gpt-4o', 'Azure says hi', chatUsage(100, 20)),
    });

    const { data, response } = await azure()
      .chat.completions.create({
        model: 'chat-prod-eu',
        messages: [{ role: 'user', content: 'Hi' }],
      })
      .withResponse();

    expect(data.choices[0]?.message.content).toBe('Azure says hi');
    expect(lastReceived().url).toBe(`${path}?api-version=2024-10-21`);
    // 100 × 2.50/M + 20 × 10/M
    expect(response.headers.get('x-spendgate-cost-usd')).toBe('0.00045');
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      org: 'acme',
      team: 'search',
      user: 'ana',
      provider: 'azure',
      endpoint: path,
      model: 'gpt-4o-2024-08-06',
      deployment: 'chat-prod-eu',
      inputTokens: 100,
      outputTokens: 20,
      usageSource: 'provider',
    });
    expect(costUsd(row)).toBe('0.00045');
    expectOnlyProviderKey(virtualKey, 'api-key', 'azure-provider-key');
  });

  it('streams an azure answer, content-filter chunk included, and records its usage', async () => {
    // Azure opens a stream with a chunk of prompt filter results and empty choices; it is not
    // the usage chunk and must reach the client.
    const filter = {
      id: '',
      object: '',
      created: 0,
      model: '',
      choices: [],
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
    };
    upstream.reply(path, (req) => ({
      kind: 'sse',
      chunks: openAiSse([
        filter,
        ...chatChunks('gpt-4o', ['Az', 'ure'], usageIf(req.body, 300, 5)),
      ]),
    }));

    const { data: stream, response } = await azure()
      .chat.completions.create({
        model: 'chat-prod-eu',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      })
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Azure');
    expect(chunks.filter((c) => c.choices.length === 0)).toEqual([filter]);
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      provider: 'azure',
      model: 'gpt-4o-2024-08-06',
      deployment: 'chat-prod-eu',
      streamed: true,
      inputTokens: 300,
      outputTokens: 5,
      usageSource: 'provider',
    });
    // 300 × 2.50/M + 5 × 10/M
    expect(costUsd(row)).toBe('0.0008');
    expectOnlyProviderKey(virtualKey, 'api-key', 'azure-provider-key');
  });
});

describe('openai sdk: attribution from a verified hs256 jwt', () => {
  it('takes org, team and user from the claims and never forwards the token', async () => {
    const jwt = await new SignJWT({ org_id: 'initech', team_id: 'billing' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('carol')
      .setIssuer('https://id.example')
      .setAudience('llm')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(ENV.JWT_SECRET));
    upstream.reply('/v1/chat/completions', {
      kind: 'json',
      body: chatCompletion('gpt-4o-2024-08-06', 'Signed', chatUsage(10, 2)),
    });

    const { data, response } = await openai(jwt)
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();

    expect(data.choices[0]?.message.content).toBe('Signed');
    const row = await rowOf(gateway, response.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({ org: 'initech', team: 'billing', user: 'carol', keyId: null });
    // 10 × 2.50/M + 2 × 10/M
    expect(costUsd(row)).toBe('0.000045');
    expectOnlyProviderKey(jwt, 'authorization', 'Bearer sk-test');
  });

  it('refuses a call with no spendgate credential with 401 invalid_token', async () => {
    const before = upstream.received.length;

    const failure = await openai('sk-someone-elses-key')
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(failure).toMatchObject({ status: 401, code: 'invalid_token' });
    expect(upstream.received.length).toBe(before);
  });
});
