/**
 * What the proxy and the decision service both read from a metered request: its JSON body, its
 * model and price, and the provider's usage object, so that both paths charge the same way.
 */
import { GatewayError } from '../errors.js';
import type { Resolution } from '../pricing/index.js';
import { anthropicUsage } from '../providers/anthropic/usage.js';
import { openaiUsage } from '../providers/openai/usage.js';
import type { Operation, Usage } from '../providers/types.js';
import { isRecord } from '../providers/usage.js';
import type { ProxyDeps } from './deps.js';
import type { RequestRecord } from './request-record.js';
import type { ProxyRoute } from './route.js';

/** A metered request's JSON body. */
export type Body = Record<string, unknown>;

/** The request body as a JSON object, or the 400 that explains why it is not one. */
export function parseBody(raw: Buffer): Body {
  if (raw.length === 0)
    throw new GatewayError(
      'invalid_request',
      'the request body is empty; a JSON object was expected',
    );
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new GatewayError(
      'invalid_request',
      `the request body is not valid JSON: ${printable((err as Error).message)}`,
    );
  }
  if (!isRecord(value))
    throw new GatewayError('invalid_request', 'the request body must be a JSON object');
  return value;
}

/**
 * The parser's message quotes the body where it failed: binary bytes (a compressed body sent
 * without its `content-encoding`) are written as escapes, not passed into the error.
 */
function printable(message: string): string {
  return message.replace(
    /[\u0000-\u001f\u007f-\u009f\ufffd]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The longest model name accepted. Real names (fine-tunes, Bedrock ARNs, Hugging Face ids) stay
 * far below it; a longer one would be stored in every row, rollup and metrics label it reaches.
 */
export const MAX_MODEL_LENGTH = 256;

/**
 * The model a request is priced as: an Azure deployment's configured model, else the model the
 * client named (`requested`: the body's `model`, or a decision's hint).
 */
export function modelOf(
  route: ProxyRoute,
  requested: unknown,
  missing = 'the request body has no "model"',
): string {
  let model: string;
  if (route.deployment) {
    model = route.upstream.deployments[route.deployment] ?? route.deployment;
  } else if (typeof requested === 'string' && requested.trim() !== '') {
    model = requested;
  } else {
    throw new GatewayError('invalid_request', missing);
  }
  if (model.length <= MAX_MODEL_LENGTH) return model;
  throw new GatewayError(
    'invalid_request',
    `the model name is ${model.length} characters long; at most ${MAX_MODEL_LENGTH} are accepted`,
  );
}

/**
 * Resolves the model's price and records it on the row; refuses (400) a model without a price
 * when `pricing.unknown_model` is `reject`.
 */
export function priceModel(
  deps: ProxyDeps,
  record: RequestRecord,
  route: ProxyRoute,
  model: string,
): Resolution {
  const resolution = deps.pricer.resolve(model, route.upstream.provider, record.row.timestampMs);
  record.setModel(model, route.deployment, resolution);
  if (resolution.reject) {
    throw new GatewayError(
      'unknown_model',
      `model "${model}" has no price, and pricing.unknown_model is "reject"`,
    );
  }
  return resolution;
}

/** A provider's `usage` object in the shape of the operation's API, normalized; null if none. */
export function usageOf(op: Operation, usage: unknown): Usage | null {
  return op === 'messages' ? anthropicUsage(usage) : openaiUsage(usage);
}
