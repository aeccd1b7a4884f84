/**
 * Fixed token estimates for non-text prompt parts, whose real cost depends on pixels, seconds
 * or pages that the gateway does not decode on the request path.
 */

/**
 * OpenAI image tokens by `detail`: `low` is a flat 85; `high` and `auto` are taken as a
 * 1024×1024 image at high detail (85 + 4 tiles × 170), the common case for screenshots.
 */
export const OPENAI_IMAGE_TOKENS = { low: 85, high: 765, auto: 765 } as const;

/**
 * Anthropic image tokens: width × height / 750, and images past about 1.15 megapixels are
 * scaled down first, so a typical large image lands near 1,600.
 */
export const ANTHROPIC_IMAGE_TOKENS = 1_600;

/** Audio input tokens per second of sound (OpenAI bills about one token per 100 ms). */
export const AUDIO_TOKENS_PER_SECOND = 10;

// Bytes per second of sound by format: 24 kHz 16-bit mono PCM for wav, 128 kbit/s otherwise.
const AUDIO_BYTES_PER_SECOND: Readonly<Record<string, number>> = {
  wav: 48_000,
  pcm16: 48_000,
  mp3: 16_000,
};
const DEFAULT_AUDIO_BYTES_PER_SECOND = 16_000;

/**
 * Document tokens per page: providers send each PDF page as its text (1,500 or so tokens) and
 * as an image, so 3,000 is a safe reservation.
 */
export const DOCUMENT_TOKENS_PER_PAGE = 3_000;

// A text-heavy PDF page is around 60 KB; providers accept at most 100 pages per document.
const DOCUMENT_BYTES_PER_PAGE = 60_000;
const DOCUMENT_MAX_PAGES = 100;

/** The tokens of an OpenAI image part with the given `detail` value. */
export function openAiImageTokens(detail: unknown): number {
  return detail === 'low' ? OPENAI_IMAGE_TOKENS.low : OPENAI_IMAGE_TOKENS.high;
}

/** Decoded size of a base64 string, or of the payload of a `data:` URL. */
export function base64Bytes(data: string): number {
  const comma = data.startsWith('data:') ? data.indexOf(',') : -1;
  return Math.floor(((data.length - comma - 1) * 3) / 4);
}

/** The tokens of base64 audio of the given format (`wav`, `mp3`, ...). */
export function audioTokens(data: unknown, format: unknown): number {
  if (typeof data !== 'string' || data.length === 0) return AUDIO_TOKENS_PER_SECOND;

  const rate =
    (typeof format === 'string' ? AUDIO_BYTES_PER_SECOND[format] : undefined) ??
    DEFAULT_AUDIO_BYTES_PER_SECOND;
  return Math.max(1, Math.ceil((base64Bytes(data) / rate) * AUDIO_TOKENS_PER_SECOND));
}

/**
 * The tokens of a base64 document (a PDF), from its size; one page when only a file id or URL
 * is given, since its size is unknown here.
 */
export function documentTokens(data: unknown): number {
  if (typeof data !== 'string' || data.length === 0) return DOCUMENT_TOKENS_PER_PAGE;

  const pages = Math.ceil(base64Bytes(data) / DOCUMENT_BYTES_PER_PAGE);
  return Math.min(Math.max(pages, 1), DOCUMENT_MAX_PAGES) * DOCUMENT_TOKENS_PER_PAGE;
}
