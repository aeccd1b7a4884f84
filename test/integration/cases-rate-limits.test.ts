import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatBody, post } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// Case 15 of CASES.md: an upstream 429 reaches the client with a `retry-after` in whole seconds,
// derived from whichever rate-limit headers the provider sent, and the reset state is kept.
const NOW = Date.parse('2026-12-03T10:00:00Z');
const DATE = { date: 'Thu, 03 Dec 2026 10:00:00 GMT' };

const ANTHROPIC_A = {
  ...DATE,
  'anthropic-ratelimit-requests-limit': '50',
  'anthropic-ratelimit-requests-remaining': '0',
  'anthropic-ratelimit-requests-reset': '2026-12-03T10:00:07Z',
  'anthropic-ratelimit-tokens-limit': '40000',
  'anthropic-ratelimit-tokens-remaining': '12000',
  'anthropic-ratelimit-tokens-reset': '2026-12-03T10:00:30Z',
};
const OPENAI_B = {
  ...DATE,
  'x-ratelimit-limit-requests': '500',
  'x-ratelimit-remaining-requests': '499',
  'x-ratelimit-reset-requests': '120ms',
  'x-ratelimit-limit-tokens': '30000',
  'x-ratelimit-remaining-tokens': '0',
  'x-ratelimit-reset-tokens': '1m30.5s',
};
const OPENAI_C = {
  ...DATE,
  'x-ratelimit-remaining-requests': '0',
  'x-ratelimit-reset-requests': '6m0s',
  'x-ratelimit-remaining-tokens': '0',
  'x-ratelimit-reset-tokens': '2s',
};

const ANTHROPIC_ERROR = {
  type: 'error',
  error: { type: 'rate_limit_error', message: 'This request would exceed your rate limit.' },
};
const OPENAI_ERROR = {
  error: {
    message: 'Rate limit reached for gpt-4o-mini.',
    type: 'tokens',
    param: null,
    code: 'rate_limit_exceeded',
  },
};

let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
  anthropic: { format: anthropic, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
    claude-sonnet-4-5: { input_per_mtok: 3, output_per_mtok: 15 }
`,
    { clock: fakeClock(NOW) },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

async function anthropic429(headers: Record<string, string>) {
  upstream.reply('/v1/messages', { kind: 'json', status: 429, headers, body: ANTHROPIC_ERROR });
  const body = JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 16,
    messages: [{ role: 'user', content: 'Say hi' }],
  });
  return post(`${gateway.url}/anthropic/v1/messages`, body);
}

async function openai429(headers: Record<string, string>) {
  const reply = { kind: 'json' as const, status: 429, headers, body: OPENAI_ERROR };
  upstream.reply('/v1/chat/completions', reply);
  return post(`${gateway.url}/openai/v1/chat/completions`, chatBody('gpt-4o-mini'));
}

/** The bucket state the gateway stored for an upstream after its last 429. */
function stored(name: string) {
  return gateway.deps.upstreamLimits.get(name)?.buckets;
}

const at = (iso: string) => Date.parse(iso);
const MINUTES_6 = '2026-12-03T10:06:00Z';
const SECONDS_2 = '2026-12-03T10:00:02Z';

const ANTHROPIC_STATE = [
  { name: 'requests', limit: 50, remaining: 0, resetAtMs: at('2026-12-03T10:00:07Z') },
  { name: 'tokens', limit: 40000, remaining: 12000, resetAtMs: at('2026-12-03T10:00:30Z') },
];
const OPENAI_B_STATE = [
  { name: 'requests', limit: 500, remaining: 499, resetAtMs: at('2026-12-03T10:00:00.120Z') },
  { name: 'tokens', limit: 30000, remaining: 0, resetAtMs: at('2026-12-03T10:01:30.500Z') },
];

describe('case 15: upstream rate-limit headers come in three formats', () => {
  it('A: derives 7 from the empty anthropic requests bucket, not the tokens one', async () => {
    const res = await anthropic429(ANTHROPIC_A);

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(JSON.parse(res.text)).toEqual(ANTHROPIC_ERROR);
    expect(stored('anthropic')).toEqual(expect.arrayContaining(ANTHROPIC_STATE));
  });

  it('B: derives 91 from the go-style duration of the empty openai tokens bucket', async () => {
    const res = await openai429(OPENAI_B);

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('91');
    expect(JSON.parse(res.text)).toEqual(OPENAI_ERROR);
    expect(stored('openai')).toEqual(expect.arrayContaining(OPENAI_B_STATE));
  });

  it('C: takes the latest reset when both openai buckets are empty: 360', async () => {
    const res = await openai429(OPENAI_C);

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('360');
    expect(stored('openai')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'requests', remaining: 0, resetAtMs: at(MINUTES_6) }),
        expect.objectContaining({ name: 'tokens', remaining: 0, resetAtMs: at(SECONDS_2) }),
      ]),
    );
  });

  it('D: lets retry-after-ms win, rounded up to 2, and passes retry-after-ms on', async () => {
    const res = await openai429({ ...OPENAI_B, 'retry-after-ms': '1500' });

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('retry-after-ms')).toBe('1500');
    expect(stored('openai')).toEqual(expect.arrayContaining(OPENAI_B_STATE));
  });

  it('E: turns an http-date retry-after into 45 delta-seconds', async () => {
    const retryAfter = 'Thu, 03 Dec 2026 10:00:45 GMT';

    const res = await anthropic429({ ...ANTHROPIC_A, 'retry-after': retryAfter });

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('45');
    expect(stored('anthropic')).toEqual(expect.arrayContaining(ANTHROPIC_STATE));
  });
});
