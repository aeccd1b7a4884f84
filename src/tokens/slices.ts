import type { RawCounter } from './encodings.js';

/**
 * Longest slice handed to the BPE in one call. Merging one pre-token costs time quadratic in
 * its length (20,000 letters take about 0.5 s), so runs without whitespace are cut here.
 */
export const SLICE_CHARS = 2_000;

/**
 * Characters of hard-cut (whitespace-free) slices counted exactly per text; the rest of such
 * slices is extrapolated at the ratio measured so far. Even sliced, high-entropy text such as
 * random base64 costs the library about 1 µs a character, so exact counting of a 1 MB run would
 * take seconds on the request path; 64 Ki characters bound that to tens of milliseconds.
 */
export const DENSE_EXACT_CHARS = 65_536;

const SPACE = 32;
const NEWLINE = 10;

/**
 * Counts a text of any length by slices of at most `SLICE_CHARS`, cut before a space or
 * newline where there is one, so ordinary prose counts as if whole.
 */
export function countSliced(raw: RawCounter, text: string): number {
  if (text.length <= SLICE_CHARS) return raw(text);

  let tokens = 0;
  let denseChars = 0;
  let denseTokens = 0;
  let skippedChars = 0;
  let start = 0;

  while (start < text.length) {
    if (text.length - start <= SLICE_CHARS) {
      tokens += raw(text.slice(start));
      break;
    }

    let end = start + SLICE_CHARS;
    let cut = end - 1;
    while (cut > start) {
      const c = text.charCodeAt(cut);
      if (c === SPACE || c === NEWLINE) break;
      cut--;
    }

    if (cut > start) {
      // The pre-tokenizer glues a space to the word after it, so cutting before the space
      // lands on a boundary it would have made anyway.
      tokens += raw(text.slice(start, cut));
      start = cut;
      continue;
    }

    // No whitespace in the window: a hard cut, kept off the middle of a surrogate pair.
    const high = text.charCodeAt(end - 1);
    if (high >= 0xd800 && high <= 0xdbff) end--;

    if (denseChars < DENSE_EXACT_CHARS) {
      const counted = raw(text.slice(start, end));
      denseChars += end - start;
      denseTokens += counted;
      tokens += counted;
    } else {
      skippedChars += end - start;
    }
    start = end;
  }

  if (skippedChars > 0) tokens += Math.ceil((skippedChars * denseTokens) / denseChars);
  return tokens;
}
