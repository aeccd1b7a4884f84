// Writes the BPE rank tables of the encodings Spendgate counts with (gpt-tokenizer's, unchanged)
// as JSON into dist/tokens/ranks/. The library ships them as JavaScript array literals: compiling
// those builds a syntax tree of 200,000 nodes, and the memory it took stays with the process
// (about 20 MB of resident memory, measured in BENCHMARKS.md), where JSON.parse of the same
// table builds the strings and arrays directly.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const outdir = fileURLToPath(new URL('../dist/tokens/ranks/', import.meta.url));
mkdirSync(outdir, { recursive: true });

for (const name of ['o200k_base', 'cl100k_base']) {
  const ranks = require(`gpt-tokenizer/bpeRanks/${name}`).default;
  writeFileSync(`${outdir}${name}.json`, JSON.stringify(ranks));
}
