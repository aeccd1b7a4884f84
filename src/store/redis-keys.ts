/**
 * How engine keys are written as Redis keys. The engine joins a key's parts with a NUL byte
 * (`b<NUL>org-daily<NUL>1741564800000<NUL>acme`) and scope values are client text. Keys with
 * NUL, newlines or spaces break the usual operator tools (`redis-cli --scan | xargs redis-cli
 * del` passes them on cut or mangled and deletes nothing), so the Redis store writes each key
 * printable: NUL becomes `:`, and `:`, `%` and every character the tools could split on or
 * misread (whitespace, quotes, backslash, control characters, lone surrogates) become `%HH`
 * (`%uHHHH` above U+00FF). The encoding is injective: the key reads back exactly.
 */

/** The separator the engine joins key parts with. */
const ENGINE_SEPARATOR = '\u0000';
/** What the separator is written as in Redis. */
const REDIS_SEPARATOR = ':';

/**
 * What is escaped. Whitespace, quotes and backslash: `xargs` splits on or interprets them.
 * Lone surrogates have no UTF-8 form: two distinct ones would be written as the same U+FFFD.
 */
const ESCAPED = /[%:\s"'\\\p{Cc}]|[\ud800-\udfff]/gu;
const ENCODED = /%u([0-9A-F]{4})|%([0-9A-F]{2})|:/g;
/** A raw control character: a key written before keys were encoded, or by something else. */
const RAW_CONTROL = /\p{Cc}/u;

function escape(char: string): string {
  const code = char.charCodeAt(0);
  const hex = code.toString(16).toUpperCase();
  return code < 0x100 ? `%${hex.padStart(2, '0')}` : `%u${hex.padStart(4, '0')}`;
}

/** The printable Redis form of an engine key (without the store's prefix). */
export function encodeKey(key: string): string {
  return key.replace(ESCAPED, (char) =>
    char === ENGINE_SEPARATOR ? REDIS_SEPARATOR : escape(char),
  );
}

/** The engine key a Redis key (without the prefix) was encoded from; null for another form. */
export function decodeKey(stored: string): string | null {
  if (RAW_CONTROL.test(stored)) return null;
  return stored.replace(ENCODED, (sep, wide?: string, narrow?: string) => {
    if (sep === REDIS_SEPARATOR) return ENGINE_SEPARATOR;
    return String.fromCharCode(parseInt((wide ?? narrow) as string, 16));
  });
}
