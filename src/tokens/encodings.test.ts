import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { baseModelName, encodingForModel, loadEncoding, readRanks } from './encodings.js';

describe('encodings: which tokenizer a model uses', () => {
  it.each([
    'gpt-4o',
    'gpt-4o-mini',
    'gpt-4o-2024-08-06',
    'gpt-4.1-nano-2025-04-14',
    'gpt-4.5-preview',
    'gpt-5',
    'gpt-5.1-codex',
    'gpt-5-mini-2025-08-07',
    'o1',
    'o1-mini',
    'o3-pro-2025-06-10',
    'o4-mini',
    'chatgpt-4o-latest',
    'gpt-oss-120b',
    'gpt-oss:20b',
    'GPT-4o',
  ])('maps %s to o200k_base', (model) => {
    expect(encodingForModel(model)).toBe('o200k_base');
  });

  it.each([
    'gpt-4',
    'gpt-4-0613',
    'gpt-4-turbo-2024-04-09',
    'gpt-3.5-turbo',
    'gpt-35-turbo',
    'text-embedding-3-small',
    'text-embedding-3-large',
    'text-embedding-ada-002',
  ])('maps %s to cl100k_base', (model) => {
    expect(encodingForModel(model)).toBe('cl100k_base');
  });

  it.each([
    'claude-sonnet-4-5',
    'anthropic.claude-3-5-sonnet-20240620-v1:0',
    'mistral-large-latest',
    'meta-llama/Llama-3.1-70B-Instruct',
    'gemini-2.5-pro',
    'my-llama-70b',
    'o10-imaginary',
    'gpt-4omni',
    '',
  ])('has no exact tokenizer for %s', (model) => {
    expect(encodingForModel(model)).toBeNull();
  });

  it('strips provider prefixes', () => {
    expect(encodingForModel('openai/gpt-4o')).toBe('o200k_base');
    expect(encodingForModel('azure/gpt-35-turbo')).toBe('cl100k_base');
  });

  it('takes a fine-tune at its base model', () => {
    expect(baseModelName('ft:gpt-4o-mini-2024-07-18:org::id')).toBe('gpt-4o-mini-2024-07-18');
    expect(encodingForModel('ft:gpt-4o-mini-2024-07-18:org::id')).toBe('o200k_base');
    expect(encodingForModel('ft:gpt-3.5-turbo-0613:acme:suffix:abc123')).toBe('cl100k_base');
  });
});

describe('encodings: loading', () => {
  it('loads each encoding once', () => {
    expect(loadEncoding('o200k_base')).toBe(loadEncoding('o200k_base'));
    expect(loadEncoding('cl100k_base')).not.toBe(loadEncoding('o200k_base'));
  });

  it('counts known tiktoken values', () => {
    const o200k = loadEncoding('o200k_base');
    const cl100k = loadEncoding('cl100k_base');

    expect(o200k('hello world')).toBe(2);
    expect(cl100k('hello world')).toBe(2);
    expect(cl100k('The quick brown fox jumps over the lazy dog.')).toBe(10);
    expect(o200k('The quick brown fox jumps over the lazy dog.')).toBe(10);
  });

  it('counts special-token text as ordinary text instead of throwing', () => {
    const o200k = loadEncoding('o200k_base');

    expect(o200k('<|endoftext|>')).toBe(7);
    expect(o200k('a <|im_start|> b <|endofprompt|>')).toBeGreaterThan(6);
  });
});

describe('encodings: the rank tables the build writes', () => {
  const requireCjs = createRequire(import.meta.url);

  it.each(['o200k_base', 'cl100k_base'] as const)(
    '%s: the JSON copy in dist/ is the library table, entry for entry',
    (name) => {
      const file = new URL(`../../dist/tokens/ranks/${name}.json`, import.meta.url);
      // `npm test` builds first; run `npm run build` before running this file on its own.
      expect(existsSync(file)).toBe(true);
      const copy = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
      const library = (requireCjs(`gpt-tokenizer/bpeRanks/${name}`) as { default: unknown[] })
        .default;

      expect(copy.length).toBe(library.length);
      expect(copy).toEqual(library);
    },
  );

  it('counts exactly as the library does, byte-level pieces and special-token text included', () => {
    const texts = [
      'Ledger rows for März: 41 200 € → 57 900 €, Δ = 40,5 %',
      '模型的费用按团队分摊。',
      'emoji 🧾🧮 and a lone \ud800 surrogate',
      'x'.repeat(3000),
      '<|endoftext|><|im_start|>system',
    ];
    for (const name of ['o200k_base', 'cl100k_base'] as const) {
      const library = requireCjs(`gpt-tokenizer/encoding/${name}`) as {
        countTokens(text: string, opts: { disallowedSpecial: Set<string> }): number;
      };
      for (const text of texts) {
        expect(loadEncoding(name)(text), `${name}: ${text.slice(0, 20)}`).toBe(
          library.countTokens(text, { disallowedSpecial: new Set() }),
        );
      }
    }
  });
});

describe('encodings: a damaged rank table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-ranks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (text: string): URL => {
    const file = join(dir, 'o200k_base.json');
    writeFileSync(file, text);
    return pathToFileURL(file);
  };

  it('stops with the file and what to do when it does not parse', () => {
    const file = write('["!", "\\"", "#');

    expect(() => readRanks('o200k_base', file)).toThrow(
      new RegExp(
        `^the token rank table ${join(dir, 'o200k_base.json')} is damaged \\(.+\\); ` +
          'run `npm run build` to write it again$',
      ),
    );
  });

  it('stops when it parses but is not that table', () => {
    expect(() => readRanks('o200k_base', write('[]'))).toThrow(
      '(0 entries, where o200k_base has 199998)',
    );
    expect(() => readRanks('o200k_base', write('{"a": 1}'))).toThrow(
      '(not a list, where o200k_base has 199998)',
    );
  });
});
