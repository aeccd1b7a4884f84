/**
 * Attribution sources: the strings users write in `attribution:` (`jwt:org_id`, `header:x-team`,
 * `unattributed`, ...) parsed once at load into typed objects the resolver can walk cheaply.
 */

/** The key record fields a `key:<field>` source can read. */
export type KeyField = 'org' | 'team' | 'user' | 'id';

/** One parsed attribution source; `text` is the string as written, for error messages. */
export type Source =
  | { kind: 'jwt'; text: string; claim: string; path: readonly string[] }
  | { kind: 'header'; text: string; name: string }
  | { kind: 'query'; text: string; name: string }
  | { kind: 'path'; text: string }
  | { kind: 'key'; text: string; field: KeyField }
  | { kind: 'key-tag'; text: string; tag: string }
  | { kind: 'literal'; text: string; value: string };

const KEY_FIELDS: ReadonlySet<string> = new Set(['org', 'team', 'user', 'id']);
const PREFIXES = ['jwt', 'header', 'query', 'key'] as const;
// RFC 9110 token characters: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Anything that looks like `word:` is taken as an attempted prefix, so a typo such as
// `heder:x-org` is an error instead of silently becoming the literal org "heder:x-org".
const PREFIX_LIKE = /^([A-Za-z][A-Za-z0-9_-]*):/;
// A leading letter or digit rules out `__proto__` as a key of a plain tags object.
/** Tag names: also the `tag:<name>` dimension name and a ledger tags key. */
export const TAG_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Longest literal default accepted, the same cap as for dimension values. */
export const MAX_VALUE_LENGTH = 200;

const HINT = 'expected jwt:<claim>, header:<name>, query:<name>, key:<field>, path, or a literal';

/** Parses one source string; returns an error message instead of throwing, for zod issues. */
export function parseSource(text: string): Source | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { error: `an empty source (${HINT})` };
  if (trimmed === 'path') return { kind: 'path', text: trimmed };

  const prefix = PREFIX_LIKE.exec(trimmed)?.[1];
  if (prefix === undefined) return literal(trimmed);
  const arg = trimmed.slice(prefix.length + 1).trim();
  if (prefix === 'path') return { error: `"path" takes no argument, got "${trimmed}"` };
  if (!(PREFIXES as readonly string[]).includes(prefix)) {
    return { error: `unknown source prefix "${prefix}:" in "${trimmed}" (${HINT})` };
  }
  if (arg === '') return { error: `"${prefix}:" needs a name after the colon` };

  switch (prefix) {
    case 'jwt':
      return jwtSource(trimmed, arg);
    case 'header':
      if (!HEADER_NAME.test(arg)) return { error: `"${arg}" is not a valid header name` };
      // Node lower-cases incoming header names, so match on the lower-cased form.
      return { kind: 'header', text: trimmed, name: arg.toLowerCase() };
    case 'query':
      return { kind: 'query', text: trimmed, name: arg };
    default:
      return keySource(trimmed, arg);
  }
}

function literal(value: string): Source | { error: string } {
  if (value.length > MAX_VALUE_LENGTH) {
    return { error: `a literal default is longer than ${MAX_VALUE_LENGTH} characters` };
  }
  return { kind: 'literal', text: value, value };
}

function jwtSource(text: string, claim: string): Source | { error: string } {
  const path = claim.split('.');
  if (path.some((part) => part === '')) return { error: `"${claim}" is not a valid claim path` };
  return { kind: 'jwt', text, claim, path };
}

function keySource(text: string, field: string): Source | { error: string } {
  if (KEY_FIELDS.has(field)) return { kind: 'key', text, field: field as KeyField };
  if (field.startsWith('tag.')) {
    const tag = field.slice(4);
    if (TAG_NAME.test(tag)) return { kind: 'key-tag', text, tag };
  }
  return { error: `unknown key field "${field}" (expected org, team, user, id or tag.<name>)` };
}
