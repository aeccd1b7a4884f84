import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey } from './redis-keys.js';

/** A small deterministic PRNG, so a failing key can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Characters the encoding treats specially, and some it leaves alone. */
const ALPHABET = [
  '\u0000',
  ':',
  '%',
  '%3A',
  'u',
  'A',
  ' ',
  '\n',
  '"',
  "'",
  '\\',
  '\u007f',
  '\u0085',
  '\u2028',
  '\ud800',
  '\udc00',
  '😀',
  'é',
  '*',
  '-',
  '0',
];

describe('redis keys: printable encoding', () => {
  it('writes the engine separator as a colon and escapes the characters tools misread', () => {
    expect(encodeKey('b\u0000org-daily\u00001741564800000\u0000acme')).toBe(
      'b:org-daily:1741564800000:acme',
    );
    expect(encodeKey('v:a%b c\n"\'\\\u007f')).toBe('v%3Aa%25b%20c%0A%22%27%5C%7F');
    expect(encodeKey('lone \ud800, paired 😀, é')).toBe('lone%20%uD800,%20paired%20😀,%20é');
  });

  it('reads random keys back exactly, and no two keys share an encoding', () => {
    const random = prng(20_260_310);
    const seen = new Map<string, string>();
    for (let i = 0; i < 5_000; i++) {
      const length = Math.floor(random() * 8);
      const key = Array.from(
        { length },
        () => ALPHABET[Math.floor(random() * ALPHABET.length)] as string,
      ).join('');
      const encoded = encodeKey(key);

      expect(decodeKey(encoded)).toBe(key);
      expect(encoded).not.toMatch(/[\p{Cc}\s"'\\]|[\ud800-\udfff]/u);
      expect(seen.get(encoded) ?? key).toBe(key);
      seen.set(encoded, key);
    }
  });

  it('does not decode a key written with raw NUL separators', () => {
    expect(decodeKey('b\u0000org-daily\u00000\u0000acme')).toBeNull();
  });
});
