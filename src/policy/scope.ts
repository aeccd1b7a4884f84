/**
 * Budget and rate-limit scopes: which requests a policy applies to and which instance of it a
 * request charges. A `"*"` value makes one instance per distinct value of that dimension.
 */

/** The request dimensions a scope can name, besides `tag:<name>`. */
export const DIMENSIONS = ['org', 'team', 'user', 'endpoint', 'model', 'provider', 'key'] as const;

/** One of the fixed request dimensions. */
export type Dimension = (typeof DIMENSIONS)[number];

/** The attribution of one request, as the engine sees it; a missing value matches no scope. */
export type RequestDims = {
  readonly [D in Dimension]?: string | null | undefined;
} & { readonly tags?: Readonly<Record<string, string | undefined>> | undefined };

/** A compiled scope: `match` gives the instance's joined values, or null when it does not apply. */
export type ScopeMatcher = {
  /** Scope keys in a fixed (sorted) order, the order of the values in an instance key. */
  readonly keys: readonly string[];
  readonly match: (dims: RequestDims) => string | null;
};

/** Separates the parts of an instance key; attribution values never contain NUL. */
export const KEY_SEPARATOR = '\u0000';

const DIMENSION_SET: ReadonlySet<string> = new Set(DIMENSIONS);

/** Whether a scope key is a known dimension or a `tag:<name>`. */
export function isScopeKey(key: string): boolean {
  return DIMENSION_SET.has(key) || /^tag:[^\s]+$/.test(key);
}

type Term = {
  readonly dimension: Dimension | null;
  readonly tag: string;
  readonly exact: string | null;
};

function readTerm(term: Term, dims: RequestDims): string | null | undefined {
  return term.dimension !== null ? dims[term.dimension] : dims.tags?.[term.tag];
}

/** Compiles a scope object once, at config load, into a matcher for the hot path. */
export function compileScope(scope: Readonly<Record<string, string>>): ScopeMatcher {
  const keys = Object.keys(scope).sort();
  const terms: Term[] = keys.map((key) => {
    const value = scope[key] ?? '*';
    const isTag = key.startsWith('tag:');
    return {
      dimension: isTag ? null : (key as Dimension),
      tag: isTag ? key.slice(4) : '',
      exact: value === '*' ? null : value,
    };
  });

  // Most scopes name one dimension; a dedicated closure avoids building an array per request.
  if (terms.length === 1) {
    const only = terms[0] as Term;
    return {
      keys,
      match: (dims) => {
        const value = readTerm(only, dims);
        if (value == null || value === '') return null;
        return only.exact === null || value === only.exact ? value : null;
      },
    };
  }

  return {
    keys,
    match: (dims) => {
      let joined = '';
      for (let i = 0; i < terms.length; i++) {
        const term = terms[i] as Term;
        const value = readTerm(term, dims);
        if (value == null || value === '') return null;
        if (term.exact !== null && value !== term.exact) return null;
        joined = i === 0 ? value : joined + KEY_SEPARATOR + value;
      }
      return joined;
    },
  };
}

/**
 * Whether an instance's joined values (from a counter key) are an instance of this scope: a
 * reload that changed a budget's scope leaves the old scope's instances in the counter store
 * until their period ends, under the same budget name.
 */
export function isInstanceOf(matcher: ScopeMatcher, joined: string): boolean {
  if (matcher.keys.length === 0) return joined === '';
  const parts = joined.split(KEY_SEPARATOR);
  if (parts.length !== matcher.keys.length) return false;
  const dims: Record<string, string> = {};
  const tags: Record<string, string> = {};
  matcher.keys.forEach((key, i) => {
    if (key.startsWith('tag:')) tags[key.slice(4)] = parts[i] as string;
    else dims[key] = parts[i] as string;
  });
  return matcher.match({ ...dims, tags }) === joined;
}

/** Splits an instance's joined values back into a `{ dimension: value }` object. */
export function scopeValues(keys: readonly string[], joined: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (keys.length === 0) return out;
  const parts = keys.length === 1 ? [joined] : joined.split(KEY_SEPARATOR);
  keys.forEach((key, i) => {
    out[key] = parts[i] ?? '';
  });
  return out;
}
