// Stream bodies of CASES.md, byte for byte, for the parser and meter tests.

/** Case 9 A: a Responses stream whose usage is only in `response.completed`. */
export const CASE_9A =
  'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response"' +
  ':{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-4o-mini","usage"' +
  ':null}}\n\n' +
  'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_' +
  'number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}\n\n' +
  'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,"respo' +
  'nse":{"id":"resp_1","object":"response","status":"completed","model":"gpt-4o-mini","usag' +
  'e":{"input_tokens":1200,"input_tokens_details":{"cached_tokens":0},"output_tokens":300,"' +
  'output_tokens_details":{"reasoning_tokens":0},"total_tokens":1500}}}\n\n';

/** Case 9 B: the last event of case 9 A replaced by `response.incomplete`. */
export const CASE_9B_LAST =
  'event: response.incomplete\ndata: {"type":"response.incomplete","sequence_number":2,"res' +
  'ponse":{"id":"resp_2","object":"response","status":"incomplete","incomplete_details":{"r' +
  'eason":"max_output_tokens"},"model":"gpt-4o-mini","usage":{"input_tokens":1200,"input_to' +
  'kens_details":{"cached_tokens":0},"output_tokens":256,"output_tokens_details":{"reasonin' +
  'g_tokens":0},"total_tokens":1456}}}\n\n';

/** Case 11 A: a legacy completions stream with the usage chunk and `[DONE]`. */
export const CASE_11A =
  'data: {"id":"cmpl-1","object":"text_completion","created":1796371200,"model":"gpt-3.5-tu' +
  'rbo-instruct","choices":[{"text":"Hi","index":0,"logprobs":null,"finish_reason":null}],"' +
  'usage":null}\n\n' +
  'data: {"id":"cmpl-1","object":"text_completion","created":1796371200,"model":"gpt-3.5-tu' +
  'rbo-instruct","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}],"' +
  'usage":null}\n\n' +
  'data: {"id":"cmpl-1","object":"text_completion","created":1796371200,"model":"gpt-3.5-tu' +
  'rbo-instruct","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_' +
  'tokens":1500}}\n\n' +
  'data: [DONE]\n\n';

/** Case 17 A: a chat stream whose usage chunk ends in one `\\n`, with no `[DONE]`. */
export const CASE_17A =
  'data: {"id":"c9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"ind' +
  'ex":0,"delta":{"content":"OK"},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"c9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"ind' +
  'ex":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n' +
  'data: {"id":"c9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"us' +
  'age":{"prompt_tokens":2000,"completion_tokens":500,"total_tokens":2500}}\n';

/** Case 17 C: a Responses stream whose `response.completed` ends in one `\\n`. */
export const CASE_17C =
  'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_' +
  'number":2,"item_id":"msg_9","output_index":0,"content_index":0,"delta":"OK"}\n\n' +
  'event: response.completed\ndata: {"type":"response.completed","sequence_number":3,"respo' +
  'nse":{"id":"resp_9","object":"response","status":"completed","model":"gpt-4o-mini","usag' +
  'e":{"input_tokens":2000,"input_tokens_details":{"cached_tokens":0},"output_tokens":500,"' +
  'output_tokens_details":{"reasoning_tokens":0},"total_tokens":2500}}}\n';

/** Case 9 B: the stream of case 9 A ending in `response.incomplete` instead. */
export const CASE_9B =
  CASE_9A.slice(0, CASE_9A.indexOf('event: response.completed')) + CASE_9B_LAST;

const chatChunk = (rest: string): string =>
  `data: {"id":"c11","object":"chat.completion.chunk","created":1796371200,` +
  `"model":"gpt-4o-mini",${rest}}\n\n`;

/** Case 11 C: a chat stream from a server that ignored `include_usage`. */
export const CASE_11C =
  chatChunk(
    '"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]',
  ) +
  chatChunk('"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]') +
  chatChunk('"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]') +
  'data: [DONE]\n\n';

/** The exact final chunk of case 11 B. */
export const CASE_11B_USAGE_CHUNK =
  'data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1000,' +
  '"completion_tokens":500,"total_tokens":1500}}\n\n';

/** Case 11 B: case 11 C plus the usage chunk the gateway asked for, before `[DONE]`. */
export const CASE_11B = CASE_11C.replace('data: [DONE]', CASE_11B_USAGE_CHUNK + 'data: [DONE]');

/** Case 13: a compatible server's chat stream whose usage carries `"cost":0`. */
export const CASE_13 =
  'data: {"id":"c13","object":"chat.completion.chunk","model":"claude-sonnet-4-5","choices":' +
  '[{"index":0,"delta":{"content":"OK"},"finish_reason":"length"}]}\n\n' +
  'data: {"id":"c13","object":"chat.completion.chunk","model":"claude-sonnet-4-5","choices":' +
  '[],"usage":{"prompt_tokens":12,"completion_tokens":4000,"total_tokens":4012,"cost":0}}\n\n' +
  'data: [DONE]\n\n';

/** Case 17 B: case 17 A with its final `\n` removed, so the body ends `}}`. */
export const CASE_17B = CASE_17A.slice(0, -1);

/** Case 17 D: case 17 A with the connection dropped inside the usage chunk's JSON. */
export const CASE_17D =
  CASE_17A.slice(0, CASE_17A.lastIndexOf('data: ')) +
  'data: {"id":"c9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],' +
  '"usage":{"prompt_tok';

/**
 * An Anthropic Messages stream with thinking, text and a tool call, cache counters in
 * `message_start`, a `ping`, and a cumulative `output_tokens` in `message_delta`.
 */
export const ANTHROPIC_STREAM =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01","type":' +
  '"message","role":"assistant","model":"claude-3-7-sonnet-20250219","content":[],' +
  '"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,' +
  '"cache_creation_input_tokens":20000,"cache_read_input_tokens":0,"cache_creation":' +
  '{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":20000},"output_tokens":1}}}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,' +
  '"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n' +
  'event: ping\ndata: {"type": "ping"}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":' +
  '{"type":"thinking_delta","thinking":"Let me think"}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":' +
  '{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":1,' +
  '"content_block":{"type":"text","text":""}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":' +
  '{"type":"text_delta","text":"Hello"}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":2,' +
  '"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":2,"delta":' +
  '{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Paris\\"}"}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":2}\n\n' +
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use",' +
  '"stop_sequence":null},"usage":{"output_tokens":400}}\n\n' +
  'event: message_stop\ndata: {"type":"message_stop"}\n\n';
