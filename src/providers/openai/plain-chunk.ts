/**
 * Chat Completions stream chunks in the exact shapes OpenAI sends, read without `JSON.parse`:
 * a whole-string pattern match costs about a sixth of a parse (0.16 µs against 0.93 µs for a
 * 300-byte chunk here), and on a lightly loaded gateway a parse of a cold chunk costs several
 * microseconds more. Every chunk of a plain text answer has one of two shapes: the text ones
 * (the first with the role, then the deltas, then the finish reason) and the usage chunk.
 * Anything else (another key order, a tool call, a second choice, an error, raw control
 * characters) does not match and is parsed as usual.
 */

/** A JSON string's characters with no escapes; ids, models and the like. */
const PLAIN = '[^"\\\\\\x00-\\x1f]*';
/** A JSON string's characters, escapes included. */
const ESCAPED = '(?:[^"\\\\\\x00-\\x1f]|\\\\["\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4})*';

// id, object, created and model (captured), then the optional service_tier and
// system_fingerprint, as OpenAI orders them.
const HEAD =
  `^\\{"id":"(${PLAIN})","object":"chat\\.completion\\.chunk","created":(0|[1-9]\\d*),"model":"(${PLAIN})",` +
  `(?:"service_tier":"${PLAIN}",)?(?:"system_fingerprint":(?:"${PLAIN}"|null),)?`;
// An optional null usage (present when the client asked for usage) and `obfuscation` padding.
const TAIL = `(?:,"obfuscation":"${PLAIN}")?\\}$`;

// One choice at index 0 whose delta is empty, or holds only `content` (after the role on the
// first chunk, before a null refusal), with no logprobs and no finish reason or a plain one.
const TEXT_CHUNK = new RegExp(
  `${HEAD}"choices":\\[\\{"index":0,"delta":\\{(?:(?:"role":"assistant",)?"content":"(${ESCAPED})"(?:,"refusal":null)?)?\\},` +
    `"logprobs":null,"finish_reason":(?:null|"([a-z_]+)")\\}\\](?:,"usage":null)?${TAIL}`,
);

// No choices and a usage object (captured whole; it is parsed on its own).
const USAGE_CHUNK = new RegExp(`${HEAD}"choices":\\[\\],"usage":(\\{.*\\})${TAIL}`, 's');

/**
 * Longer chunks are left to the parser: the patterns' repeated alternation backtracks one step a
 * character, and V8's regexp stack overflows past about 8 million characters (a RangeError);
 * chunks of generated text are a few hundred bytes.
 */
const MAX_PATTERN_CHARS = 65_536;

/** What names the stream: each chunk repeats it. */
export type ChunkHead = { id: string; created: number; model: string };

/** A text chunk: its delta's `content` ('' when it has none) and its finish reason. */
export type TextChunk = ChunkHead & { content: string; finishReason: string | null };

/** The usage chunk: its `usage` object as `JSON.parse` gives it. */
export type UsageChunk = ChunkHead & { usage: Record<string, unknown> };

/**
 * A text chunk read as `JSON.parse` would give its fields, or null when the chunk has any other
 * shape (then it must be parsed).
 */
export function readTextChunk(data: string): TextChunk | null {
  if (data.length > MAX_PATTERN_CHARS) return null;
  const match = TEXT_CHUNK.exec(data);
  const created = match && createdOf(match);
  if (match === null || created === null) return null;
  const text = match[4] ?? '';
  // Escapes (a newline is `\n`) are decoded by the JSON parser, on the string alone.
  const content = text.includes('\\') ? (JSON.parse(`"${text}"`) as string) : text;
  // Built field by field: an object spread here cost five times the pattern match.
  return {
    id: match[1] as string,
    created,
    model: match[3] as string,
    content,
    finishReason: match[5] ?? null,
  };
}

/** The usage chunk's fields, or null when the chunk has any other shape. */
export function readUsageChunk(data: string): UsageChunk | null {
  if (data.length > MAX_PATTERN_CHARS) return null;
  const match = USAGE_CHUNK.exec(data);
  const created = match && createdOf(match);
  if (match === null || created === null) return null;
  let usage: unknown;
  try {
    usage = JSON.parse(match[4] as string);
  } catch {
    return null;
  }
  return typeof usage === 'object' && usage !== null && !Array.isArray(usage)
    ? {
        id: match[1] as string,
        created,
        model: match[3] as string,
        usage: usage as Record<string, unknown>,
      }
    : null;
}

/** The chunk's `created` time, or null past 2^53 (not exact in JSON.parse either). */
function createdOf(match: RegExpExecArray): number | null {
  const created = Number(match[2]);
  return Number.isSafeInteger(created) ? created : null;
}
