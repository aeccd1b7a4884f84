// The stream bodies of /work/shared/cases/CASES.md, byte for byte, as the upstream sends them.
// Generated from the case file's string literals; the \n and \" there are the same bytes here.

/** Case 9 A: the whole Responses stream, sent by the upstream as one chunk. */
export const CASE_9A =
  'event: response.created\ndata: {"type":"response.created","sequence_number":0,"respon' +
  'se":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-4o-mini",' +
  '"usage":null}}\n\n' +
  'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequen' +
  'ce_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}\n\n' +
  'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,"re' +
  'sponse":{"id":"resp_1","object":"response","status":"completed","model":"gpt-4o-mini' +
  '","usage":{"input_tokens":1200,"input_tokens_details":{"cached_tokens":0},"output_to' +
  'kens":300,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":1500}}}\n\n';

/** Case 9 B: the terminal `response.incomplete` event that replaces 9 A's last. */
export const CASE_9B_LAST =
  'event: response.incomplete\ndata: {"type":"response.incomplete","sequence_number":2,"' +
  'response":{"id":"resp_2","object":"response","status":"incomplete","incomplete_detai' +
  'ls":{"reason":"max_output_tokens"},"model":"gpt-4o-mini","usage":{"input_tokens":120' +
  '0,"input_tokens_details":{"cached_tokens":0},"output_tokens":256,"output_tokens_deta' +
  'ils":{"reasoning_tokens":0},"total_tokens":1456}}}\n\n';

/** Case 11 A: the legacy completions stream, usage chunk and `[DONE]` included. */
export const CASE_11A =
  'data: {"id":"cmpl-1","object":"text_completion","created":1796371200,"model":"gpt-3.' +
  '5-turbo-instruct","choices":[{"text":"Hi","index":0,"logprobs":null,"finish_reason":' +
  'null}],"usage":null}\n\n' +
  'data: {"id":"cmpl-1","object":"text_completion","created":1796371200,"model":"gpt-3.' +
  '5-turbo-instruct","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"s' +
  'top"}],"usage":null}\n\n' +
  'data: {"id":"cmpl-1","object":"text_completion","created":1796371200,"model":"gpt-3.' +
  '5-turbo-instruct","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":500' +
  ',"total_tokens":1500}}\n\n' +
  'data: [DONE]\n\n';

/** Case 17 A: a chat stream whose usage chunk ends in one `\n`, with no `[DONE]`. */
export const CASE_17A =
  'data: {"id":"c9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{' +
  '"index":0,"delta":{"content":"OK"},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"c9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{' +
  '"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n' +
  'data: {"id":"c9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[]' +
  ',"usage":{"prompt_tokens":2000,"completion_tokens":500,"total_tokens":2500}}\n';

/** Case 17 C: a Responses stream whose `response.completed` ends in one `\n`. */
export const CASE_17C =
  'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequen' +
  'ce_number":2,"item_id":"msg_9","output_index":0,"content_index":0,"delta":"OK"}\n\n' +
  'event: response.completed\ndata: {"type":"response.completed","sequence_number":3,"re' +
  'sponse":{"id":"resp_9","object":"response","status":"completed","model":"gpt-4o-mini' +
  '","usage":{"input_tokens":2000,"input_tokens_details":{"cached_tokens":0},"output_to' +
  'kens":500,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":2500}}}\n';

/** Case 9 B: the stream of 9 A with its terminal event replaced by `response.incomplete`. */
export const CASE_9B =
  CASE_9A.slice(0, CASE_9A.indexOf('event: response.completed')) + CASE_9B_LAST;

/** Case 17 B: 17 A with the final `\n` removed, so the body ends with `}}`. */
export const CASE_17B = CASE_17A.slice(0, -1);

/** Case 17 D: 17 A cut off in the middle of the usage chunk's JSON. */
export const CASE_17D =
  CASE_17A.slice(0, CASE_17A.lastIndexOf('data: ')) +
  'data: {"id":"c9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],' +
  '"usage":{"prompt_tok';
