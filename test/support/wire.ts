// Provider wire formats as the real APIs send them, so the official SDKs parse the mock's
// answers exactly as they parse production traffic. Shapes follow the public API references:
// OpenAI chat.completion / chat.completion.chunk, Responses objects and their stream events,
// embedding lists, and Anthropic `message` objects with their stream events.

const CREATED = 1_796_371_200;

type Json = Record<string, unknown>;

/** OpenAI chat usage with the detail objects the API always includes. */
export function chatUsage(prompt: number, completion: number, cached = 0, reasoning = 0): Json {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** A non-streamed `chat.completion` object. */
export function chatCompletion(model: string, text: string, usage: Json): Json {
  return {
    id: 'chatcmpl-sg1',
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage,
    service_tier: 'default',
    system_fingerprint: 'fp_sg1',
  };
}

/**
 * The `chat.completion.chunk` payloads of a streamed answer: a role chunk, one chunk per
 * delta, a finish chunk, then (when `usage` is given) the usage chunk with empty `choices`.
 * With usage requested, every other chunk carries `usage: null`, as the API sends them.
 */
export function chatChunks(model: string, deltas: string[], usage: Json | null): Json[] {
  const base = { id: 'chatcmpl-sg2', object: 'chat.completion.chunk', created: CREATED, model };
  const extra = usage ? { usage: null } : {};
  const choice = (delta: Json, finish: string | null) => ({
    ...base,
    system_fingerprint: 'fp_sg1',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  const chunks: Json[] = [
    choice({ role: 'assistant', content: '', refusal: null }, null),
    ...deltas.map((text) => choice({ content: text }, null)),
    choice({}, 'stop'),
  ];
  if (usage) chunks.push({ ...base, system_fingerprint: 'fp_sg1', choices: [], usage });
  return chunks;
}

/** Responses API usage. */
export function responsesUsage(input: number, output: number, cached = 0, reasoning = 0): Json {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
}

function messageItem(text: string, status: 'completed' | 'in_progress'): Json {
  const content = status === 'completed' ? [outputText(text)] : [];
  return { id: 'msg_sg1', type: 'message', status, role: 'assistant', content };
}

function outputText(text: string): Json {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** A Responses API `response` object; `usage` null while in progress. */
export function responseObject(model: string, text: string, usage: Json | null): Json {
  const done = usage !== null;
  return {
    id: 'resp_sg1',
    object: 'response',
    created_at: CREATED,
    status: done ? 'completed' : 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model,
    output: done ? [messageItem(text, 'completed')] : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage,
    user: null,
    metadata: {},
  };
}

/**
 * The events of a streamed Responses answer, `sequence_number` counting from 0: created,
 * in_progress, the output item and content part opening, one delta per piece, their closing
 * events, and `response.completed` carrying the usage.
 */
export function responseEvents(model: string, deltas: string[], usage: Json): Json[] {
  const text = deltas.join('');
  const at = { item_id: 'msg_sg1', output_index: 0, content_index: 0 };
  const events: Json[] = [
    { type: 'response.created', response: responseObject(model, '', null) },
    { type: 'response.in_progress', response: responseObject(model, '', null) },
    { type: 'response.output_item.added', output_index: 0, item: messageItem('', 'in_progress') },
    { type: 'response.content_part.added', ...at, part: outputText('') },
    ...deltas.map((delta) => ({ type: 'response.output_text.delta', ...at, delta, logprobs: [] })),
    { type: 'response.output_text.done', ...at, text, logprobs: [] },
    { type: 'response.content_part.done', ...at, part: outputText(text) },
    { type: 'response.output_item.done', output_index: 0, item: messageItem(text, 'completed') },
    { type: 'response.completed', response: responseObject(model, text, usage) },
  ];
  return events.map((event, index) => ({ ...event, sequence_number: index }));
}

/** SSE chunks with an `event:` line per event, one chunk each (Responses and Anthropic). */
export function namedSse(events: Json[]): string[] {
  return events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
}

/**
 * An embeddings list. The SDK asks for `encoding_format: base64` unless told otherwise, and
 * the API then sends each vector as base64 of little-endian float32s.
 */
export function embeddingList(model: string, vector: number[], prompt: number, base64: boolean) {
  const floats = Buffer.from(new Float32Array(vector).buffer).toString('base64');
  return {
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: base64 ? floats : vector }],
    model,
    usage: { prompt_tokens: prompt, total_tokens: prompt },
  };
}

/** Anthropic usage: `input_tokens` excludes the cache reads and writes, which sit beside it. */
export function anthropicUsage(input: number, output: number, write = 0, read = 0): Json {
  return {
    input_tokens: input,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
    output_tokens: output,
    service_tier: 'standard',
  };
}

/** A non-streamed Anthropic `message` object. */
export function anthropicMessage(model: string, text: string, usage: Json): Json {
  return {
    id: 'msg_01SpendgateTest',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage,
  };
}

/**
 * The events of a streamed Anthropic answer: `message_start` with the input side of the usage,
 * one text block with a `ping`, then `message_delta` with the cumulative output count.
 */
export function anthropicEvents(model: string, deltas: string[], usage: Json): Json[] {
  const startUsage = { ...usage, output_tokens: 1 };
  const message = { ...anthropicMessage(model, '', startUsage), content: [], stop_reason: null };
  return [
    { type: 'message_start', message },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'ping' },
    ...deltas.map((text) => ({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text },
    })),
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    },
    { type: 'message_stop' },
  ];
}
