/**
 * The two request shapes of the gateway bench, built once: the client's request bodies and the
 * upstream's answers, shaped like OpenAI's Chat Completions so the gateway does its real work.
 */

/** The model every bench request names; the gateway's config prices it. */
export const BENCH_MODEL = 'gpt-4o';

/** The path the upstream serves; the gateway adds its `/<upstream>` prefix in front. */
export const CHAT_PATH = '/v1/chat/completions';

/** Content events in one streamed answer, before the usage chunk and `[DONE]`. */
export const STREAM_CHUNKS = 20;

const PROMPT =
  'You are a finance assistant for a platform team. Answer in two short paragraphs and cite ' +
  'the ledger rows you used. Keep numbers exact and name the currency every time.';

const QUESTION =
  'Our inference bill for March rose from 41,200 USD to 57,900 USD while request volume grew ' +
  'only 9%. The retrieval pipeline moved to 40,000-token prompts in the second week, and an ' +
  'agent in the support tool retried failed tool calls up to eight times. Which of the two ' +
  'explains more of the increase, and what budget would you set per team for April so that ' +
  'the total stays under 50,000 USD without cutting the retrieval pipeline off mid-month?';

const ANSWER =
  'Most of the increase comes from the retrieval pipeline. Its prompts grew roughly tenfold in ' +
  'the second week, and at current input prices that alone adds about 13,000 USD over the rest ' +
  'of the month. The retrying agent added about 2,100 USD: eight attempts multiply its cost, ' +
  'but it runs far less often than the pipeline does.\n\nFor April, give the retrieval team ' +
  '24,000 USD with a warning at 80%, the support tool 6,000 USD with a hard stop at 100%, and ' +
  'split the remaining 20,000 USD across the other teams by their March share.';

function words(text: string): string[] {
  return text.split(/(?= )/);
}

/**
 * A conversation's history as a client resends it on every turn, then a new question that no
 * earlier request held (`turn` makes it unique), so prompt counting is measured on a mix of
 * repeated and new text, as real chat traffic has it.
 */
function conversation(turn: number): { role: string; content: string }[] {
  return [
    { role: 'system', content: PROMPT },
    { role: 'user', content: QUESTION },
    { role: 'assistant', content: 'Which months should I compare against?' },
    { role: 'user', content: `Compare March with February and January, please (ticket ${turn}).` },
  ];
}

/** The ~1 KB client request of the non-streamed shape (JSON bytes) for one turn. */
export function chatRequestBody(turn: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: BENCH_MODEL,
      messages: conversation(turn),
      max_tokens: 400,
      temperature: 0.2,
      user: 'bench-user',
    }),
  );
}

/**
 * The client request of the streamed shape. It asks for usage itself, so all three paths get
 * the same 22 events from the same upstream and the comparison stays like for like.
 */
export function streamRequestBody(turn: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: BENCH_MODEL,
      messages: conversation(turn),
      max_tokens: 400,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
}

const usage = {
  prompt_tokens: 187,
  completion_tokens: 121,
  total_tokens: 308,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
};

const ID = 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT';
const CREATED = 1_741_569_952;
const SNAPSHOT = 'gpt-4o-2024-08-06';
const FINGERPRINT = 'fp_f9f4fb6dbf';

/** The upstream's non-streamed answer: a realistic chat.completion of about 1 KB. */
export const chatResponseBody = Buffer.from(
  JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model: SNAPSHOT,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: ANSWER, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  }),
);

function chunkEvent(delta: Record<string, unknown>, finish: string | null): Buffer {
  const chunk = {
    id: ID,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: SNAPSHOT,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  };
  return Buffer.from(`data: ${JSON.stringify(chunk)}\n\n`);
}

function buildStream(): Buffer[] {
  const pieces = words(ANSWER);
  const per = Math.ceil(pieces.length / (STREAM_CHUNKS - 2));
  const events = [chunkEvent({ role: 'assistant', content: '', refusal: null }, null)];
  for (let i = 0; i < STREAM_CHUNKS - 2; i += 1) {
    events.push(chunkEvent({ content: pieces.slice(i * per, (i + 1) * per).join('') }, null));
  }
  events.push(chunkEvent({}, 'stop'));

  const usageChunk = {
    id: ID,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: SNAPSHOT,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
    choices: [],
    usage,
  };
  events.push(Buffer.from(`data: ${JSON.stringify(usageChunk)}\n\n`));
  events.push(Buffer.from('data: [DONE]\n\n'));
  return events;
}

/** The upstream's streamed answer, one buffer per SSE event: 20 chunks, usage, `[DONE]`. */
export const streamEvents: readonly Buffer[] = buildStream();

/** The tail every complete stream ends with, for the load generator's check. */
export const STREAM_TAIL = 'data: [DONE]\n\n';
