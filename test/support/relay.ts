import { gatewayOverMock, type GatewayOverMock } from './gateway.js';
import { chatChunks } from './wire.js';

/** One SSE event whose data is `payload` as JSON. */
export const sseEvent = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

/**
 * The relay tests' gateway in front of a mock OpenAI upstream, started before a file's tests:
 * gpt-4o at $2.50 in, $1.25 cached, $10 out per million tokens, the org from `x-org-id`, the
 * upstream's `timeout`, and `budgets` (each one YAML flow mapping).
 */
export function relayGateway(opts: { timeout: string; budgets?: string[] }): GatewayOverMock {
  const budgets = opts.budgets?.length
    ? `budgets:\n${opts.budgets.map((b) => `  - ${b}`).join('\n')}\n`
    : '';
  return gatewayOverMock(
    (url) => `
upstreams:
  openai: { format: openai, base_url: ${url}, timeout: ${opts.timeout} }
identity: { require_credential: false }
attribution:
  org: [header:x-org-id, unattributed]
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, cached_input_per_mtok: 1.25, output_per_mtok: 10.00 }
${budgets}`,
  );
}

/**
 * POSTs a streamed gpt-4o chat request ("Say hi") to `path` under the gateway's `openai`
 * upstream (`/v1/chat/completions` when not given).
 */
export function postStream(
  env: GatewayOverMock,
  opts: {
    path?: string;
    maxTokens: number;
    includeUsage?: boolean;
    headers?: Record<string, string>;
  },
): Promise<Response> {
  return fetch(`${env.gateway.url}/openai${opts.path ?? '/v1/chat/completions'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Say hi' }],
      stream: true,
      max_tokens: opts.maxTokens,
      ...(opts.includeUsage ? { stream_options: { include_usage: true } } : {}),
    }),
  });
}

/**
 * A long gpt-4o stream as its upstream sends it: `count` events that each carry `delta`, the
 * `usage` chunk and `[DONE]` (`events`), written `perRead` events to a read (`reads`).
 */
export function repeatedDeltaStream(opts: {
  count: number;
  delta: string;
  usage: Record<string, unknown>;
  perRead: number;
}): { events: string[]; reads: string[] } {
  const deltas = Array.from({ length: opts.count }, () => opts.delta);
  const events = chatChunks('gpt-4o', deltas, opts.usage).map(sseEvent);
  events.push('data: [DONE]\n\n');
  const reads: string[] = [];
  for (let i = 0; i < events.length; i += opts.perRead) {
    reads.push(events.slice(i, i + opts.perRead).join(''));
  }
  return { events, reads };
}
