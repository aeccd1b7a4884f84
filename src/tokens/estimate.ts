import { baseModelName } from './encodings.js';

/**
 * How many of a family's tokens one o200k token is worth, for models whose tokenizer is not
 * available offline. The first entry whose marker appears in the model name wins.
 * - Claude: Anthropic's tokenizer is smaller than o200k; English prose and code come out about
 *   15% longer in it, and reserving a little more is the safe side of a budget.
 * - Llama 3 (128K vocabulary, derived from cl100k) and Mistral's Tekken / SentencePiece
 *   vocabularies split English about 10% finer than o200k.
 * - Everything else (Gemini, Gemma, Qwen, DeepSeek, unknown) is taken at o200k's count: their
 *   vocabularies are of the same size, and no better evidence is at hand.
 */
const FAMILY_FACTORS: readonly (readonly [marker: string, factor: number])[] = [
  ['claude', 1.15],
  ['llama', 1.1],
  ['mistral', 1.1],
  ['mixtral', 1.1],
  ['codestral', 1.1],
  ['ministral', 1.1],
  ['magistral', 1.1],
  ['devstral', 1.1],
  ['pixtral', 1.1],
];

/** Factor for families with no entry in the table. */
export const DEFAULT_ESTIMATE_FACTOR = 1.0;

/** The factor that scales an o200k count into an estimate of the model's own token count. */
export function estimateFactor(model: string): number {
  // Bedrock and Vertex ids (`anthropic.claude-3-5-sonnet-...-v1:0`, `claude-sonnet-4@...`)
  // carry the family inside the name, so a substring is matched rather than a prefix.
  const name = baseModelName(model);

  for (const [marker, factor] of FAMILY_FACTORS) {
    if (name.includes(marker)) return factor;
  }
  return DEFAULT_ESTIMATE_FACTOR;
}
