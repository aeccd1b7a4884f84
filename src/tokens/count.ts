import type { Operation } from '../providers/types.js';
import { countMessagesBody } from './anthropic-body.js';
import { encodingForModel, loadEncoding, type EncodingName, type RawCounter } from './encodings.js';
import { estimateFactor } from './estimate.js';
import {
  countChatBody,
  countCompletionsBody,
  countEmbeddingsBody,
  countResponsesBody,
} from './openai-body.js';
import { countSliced } from './slices.js';
import { isObject, type JsonObject } from './walk.js';

/** How a prompt count was obtained: the model's own tokenizer, or a scaled o200k estimate. */
export type CountMethod = 'tokenizer' | 'estimate';

/** A prompt-token count and how it was obtained. */
export type PromptCount = { tokens: number; method: CountMethod };

type Plan = { count: RawCounter; factor: number; method: CountMethod };

// Model names come from clients, so the cache of resolved names is bounded.
const PLAN_CACHE_LIMIT = 1_024;
const plans = new Map<string, Plan>();
const sliced = new Map<EncodingName, RawCounter>();

const WALKERS: Record<Operation, (text: RawCounter, body: JsonObject) => number> = {
  chat: countChatBody,
  responses: countResponsesBody,
  embeddings: countEmbeddingsBody,
  completions: countCompletionsBody,
  messages: countMessagesBody,
};

function slicedCounter(encoding: EncodingName): RawCounter {
  let counter = sliced.get(encoding);
  if (!counter) {
    const raw = loadEncoding(encoding);
    counter = remembered((text) => countSliced(raw, text));
    sliced.set(encoding, counter);
  }
  return counter;
}

// System prompts, tool definitions and few-shot examples repeat across an application's
// requests, a chat client resends the whole conversation on every turn, and every message names
// its role: the counts of texts are kept so each is tokenized once, not on every request. A hit
// costs a hash of the text; a short one still saves the tokenizer's fixed cost per call (about
// 1 µs for a role name, against 0.05 µs for the lookup). Bounded in characters and in entries,
// and cleared when either is full.
const REMEMBER_MAX_CHARS = 4 * 1024 * 1024;
const REMEMBER_MAX_ENTRIES = 65_536;

/** Wraps a counter with a bounded memory of the counts of the texts it has seen. */
function remembered(count: RawCounter): RawCounter {
  const known = new Map<string, number>();
  let chars = 0;
  return (text) => {
    const hit = known.get(text);
    if (hit !== undefined) return hit;
    const tokens = count(text);
    // A text longer than the whole budget is counted each time rather than flush everything.
    if (text.length > REMEMBER_MAX_CHARS) return tokens;
    if (chars + text.length > REMEMBER_MAX_CHARS || known.size >= REMEMBER_MAX_ENTRIES) {
      known.clear();
      chars = 0;
    }
    known.set(text, tokens);
    chars += text.length;
    return tokens;
  };
}

function planFor(model: string): Plan {
  const cached = plans.get(model);
  if (cached) return cached;

  const encoding = encodingForModel(model);
  const plan: Plan = encoding
    ? { count: slicedCounter(encoding), factor: 1, method: 'tokenizer' }
    : { count: slicedCounter('o200k_base'), factor: estimateFactor(model), method: 'estimate' };

  if (plans.size >= PLAN_CACHE_LIMIT) plans.clear();
  plans.set(model, plan);
  return plan;
}

function scale(plan: Plan, tokens: number): number {
  return plan.factor === 1 ? tokens : Math.ceil(tokens * plan.factor);
}

/**
 * The tokens of a text in the model's tokenizer, or the calibrated estimate for models without
 * one; at least 1 for a non-empty text. Count a whole text, not stream deltas one by one: the
 * estimate rounds up per call.
 */
export function countTextTokens(model: string, text: string): number {
  if (typeof text !== 'string' || text.length === 0) return 0;

  const plan = planFor(typeof model === 'string' ? model : '');
  return Math.max(1, scale(plan, plan.count(text)));
}

/**
 * Stream deltas are counted with this, unscaled, and the sum scaled once with
 * {@link scaleTokenCount}: an estimate rounded up per delta would turn every 1-token delta of a
 * Claude stream into 2.
 */
export function rawTextTokens(model: string, text: string): number {
  if (typeof text !== 'string' || text.length === 0) return 0;
  return planFor(typeof model === 'string' ? model : '').count(text);
}

/** Applies the model's estimate factor once to a sum of {@link rawTextTokens} counts. */
export function scaleTokenCount(model: string, rawTokens: number): number {
  return rawTokens === 0 ? 0 : scale(planFor(typeof model === 'string' ? model : ''), rawTokens);
}

/**
 * The prompt tokens of a request body of the given operation, as the upstream will bill them,
 * counted before forwarding; never throws and is at least 1, whatever the body holds.
 */
export function countPromptTokens(op: Operation, body: unknown, model: string): PromptCount {
  const plan = planFor(typeof model === 'string' ? model : '');
  const walker = WALKERS[op];
  if (!isObject(body) || walker === undefined) return { tokens: 1, method: plan.method };

  return { tokens: Math.max(1, scale(plan, walker(plan.count, body))), method: plan.method };
}
