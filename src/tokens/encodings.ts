import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';

/** The OpenAI BPE encodings Spendgate counts exactly. */
export type EncodingName = 'o200k_base' | 'cl100k_base';

/** Counts the tokens of one string with one encoding, treating special-token text as text. */
export type RawCounter = (text: string) => number;

type EncodingModule = {
  countTokens: (text: string, options: { disallowedSpecial: Set<string> }) => number;
};

/**
 * Model-name prefixes and their encodings, most specific first: `gpt-4o` must be tried before
 * `gpt-4`, which is cl100k. A prefix matches the whole name or a name that continues with a
 * separator, so dated snapshots (`gpt-4o-2024-08-06`) and variants (`o3-mini`) share it.
 */
const PREFIXES: readonly (readonly [string, EncodingName])[] = [
  ['chatgpt-4o', 'o200k_base'],
  ['gpt-4o', 'o200k_base'],
  ['gpt-4.1', 'o200k_base'],
  ['gpt-4.5', 'o200k_base'],
  ['gpt-5', 'o200k_base'],
  ['gpt-oss', 'o200k_base'],
  ['o1', 'o200k_base'],
  ['o3', 'o200k_base'],
  ['o4', 'o200k_base'],
  ['gpt-4', 'cl100k_base'],
  ['gpt-3.5', 'cl100k_base'],
  // Azure names its 3.5 deployments' models without the dot.
  ['gpt-35', 'cl100k_base'],
  ['text-embedding-3', 'cl100k_base'],
  ['text-embedding-ada-002', 'cl100k_base'],
];

const SEPARATORS = new Set(['-', '.', ':', '_', '@']);

/**
 * The base model name a tokenizer decision is made on: lower case, without an `ft:` fine-tune
 * wrapper and without provider path prefixes such as `openai/` or `azure/`.
 * @example baseModelName('ft:gpt-4o-mini-2024-07-18:org::id') // 'gpt-4o-mini-2024-07-18'
 */
export function baseModelName(model: string): string {
  let name = model.trim().toLowerCase();

  // A fine-tune id is `ft:<base>:<org>:<suffix>:<id>`; only the base says how it tokenizes.
  if (name.startsWith('ft:')) {
    name = name.slice(3);
    const end = name.indexOf(':');
    if (end >= 0) name = name.slice(0, end);
  }

  const slash = name.lastIndexOf('/');
  return slash >= 0 ? name.slice(slash + 1) : name;
}

/** The encoding a model uses, or `null` when no exact tokenizer is known and an estimate is due. */
export function encodingForModel(model: string): EncodingName | null {
  const name = baseModelName(model);

  for (const [prefix, encoding] of PREFIXES) {
    if (!name.startsWith(prefix)) continue;
    const next = name.charAt(prefix.length);
    if (next === '' || SEPARATORS.has(next)) return encoding;
  }
  return null;
}

// The rank tables are read when a model first needs one (startup loads both): from the JSON
// copies the build writes (scripts/build-ranks.mjs), which cost about 20 MB less resident memory
// than compiling the library's JavaScript copies; from the library itself in a checkout that has
// not been built. `src/` and `dist/` sit at the same depth, so the same path serves both.
const RANKS_DIR = new URL('../../dist/tokens/ranks/', import.meta.url);
const requireCjs = createRequire(import.meta.url);
const MODULES: Record<EncodingName, string> = {
  o200k_base: 'gpt-tokenizer/encoding/o200k_base',
  cl100k_base: 'gpt-tokenizer/encoding/cl100k_base',
};

// Entries in each table (gpt-tokenizer 4.0.0, pinned): a file that parses but holds another
// number is not that table. An upgrade that changes a table fails src/tokens/encodings.test.ts
// until these are updated.
const RANK_COUNTS: Record<EncodingName, number> = { o200k_base: 199_998, cl100k_base: 100_256 };

function encodingModule(name: EncodingName): EncodingModule {
  const file = new URL(`${name}.json`, RANKS_DIR);
  if (!existsSync(file)) return requireCjs(MODULES[name]) as EncodingModule;
  return GptEncoding.getEncodingApi(name, () => readRanks(name, file));
}

/** A rank table the build wrote; a damaged one stops the start with what to do about it. */
export function readRanks(name: EncodingName, file: URL): (string | number[])[] {
  let ranks: unknown;
  try {
    ranks = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw damaged(file, (err as Error).message);
  }
  if (!Array.isArray(ranks) || ranks.length !== RANK_COUNTS[name]) {
    const held = Array.isArray(ranks) ? `${ranks.length} entries` : 'not a list';
    throw damaged(file, `${held}, where ${name} has ${RANK_COUNTS[name]}`);
  }
  return ranks as (string | number[])[];
}

function damaged(file: URL, why: string): Error {
  return new Error(
    `the token rank table ${fileURLToPath(file)} is damaged (${why}); ` +
      'run `npm run build` to write it again',
  );
}

const loaded = new Map<EncodingName, RawCounter>();

// An empty disallowed set makes `<|endoftext|>` in user text count as ordinary text, as the
// provider bills it, instead of throwing.
const COUNT_OPTIONS = { disallowedSpecial: new Set<string>() };

/**
 * The raw counter of an encoding, loading its rank table on first use and once only; call it at
 * startup to keep the load off the first request.
 */
export function loadEncoding(name: EncodingName): RawCounter {
  const cached = loaded.get(name);
  if (cached) return cached;

  const mod = encodingModule(name);
  const counter: RawCounter = (text) => mod.countTokens(text, COUNT_OPTIONS);
  loaded.set(name, counter);
  return counter;
}
