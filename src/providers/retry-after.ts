/**
 * Derives `Retry-After` for an upstream 429 from the provider's rate-limit headers (SPEC
 * "Modes", case 15). An explicit `retry-after-ms` beats `retry-after`, which beats the latest
 * reset among the exhausted buckets; the answer is whole delta-seconds, rounded up, the one
 * RFC 9110 form every client parses.
 */

/** Response headers as Node and undici give them; names are matched case-insensitively. */
export type HeaderBag = Record<string, string | string[] | undefined>;

/** One provider rate-limit bucket as its headers describe it. */
export type RateLimitBucket = {
  /** `requests`, `tokens`, `input-tokens` or `output-tokens`. */
  name: string;
  limit: number | null;
  remaining: number | null;
  /** When the bucket refills, as a Unix time in milliseconds. */
  resetAtMs: number | null;
};

/** The wait to send the client, and the bucket state it was derived from. */
export type DerivedRetryAfter = { seconds: number | null; buckets: RateLimitBucket[] };

type BucketHeaders = { name: string; limit: string; remaining: string; reset: string };

/** Header names of every known bucket, built once: Anthropic's, then OpenAI's. */
const BUCKET_HEADERS: readonly BucketHeaders[] = [
  ...['requests', 'tokens', 'input-tokens', 'output-tokens'].map((name) => ({
    name,
    limit: `anthropic-ratelimit-${name}-limit`,
    remaining: `anthropic-ratelimit-${name}-remaining`,
    reset: `anthropic-ratelimit-${name}-reset`,
  })),
  ...['requests', 'tokens'].map((name) => ({
    name,
    limit: `x-ratelimit-limit-${name}`,
    remaining: `x-ratelimit-remaining-${name}`,
    reset: `x-ratelimit-reset-${name}`,
  })),
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:h|m|s|ms|us|µs|μs|ns))+$/;
const GO_PART = /(\d*)(?:\.(\d*))?(h|ms|m|s|us|µs|μs|ns)/g;
const DIGITS = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;
/** Nanoseconds per Go duration unit. */
const UNIT_NS: Readonly<Record<string, bigint>> = {
  h: 3_600_000_000_000n,
  m: 60_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ns: 1n,
};
/** A bare reset number above this is a Unix time in seconds, not a delay. */
const UNIX_SECONDS_FLOOR = 1_000_000_000;

/** Works out the wait for an upstream 429 and the state of its buckets, at `nowMs`. */
export function deriveRetryAfter(headers: HeaderBag, nowMs: number): DerivedRetryAfter {
  const get = lowerCaseLookup(headers);
  const buckets: RateLimitBucket[] = [];
  for (const names of BUCKET_HEADERS) {
    const limit = get(names.limit);
    const remaining = get(names.remaining);
    const reset = get(names.reset);
    if (limit === undefined && remaining === undefined && reset === undefined) continue;
    buckets.push({
      name: names.name,
      limit: wholeNumber(limit),
      remaining: wholeNumber(remaining),
      resetAtMs: reset === undefined ? null : parseReset(reset, nowMs),
    });
  }

  const seconds =
    fromRetryAfterMs(get('retry-after-ms')) ??
    fromRetryAfter(get('retry-after'), nowMs) ??
    fromBuckets(buckets, nowMs);
  return { seconds, buckets };
}

/**
 * A reset time as a Unix time in ms: an RFC 3339 instant (Anthropic), a Go-style duration from
 * now such as `120ms` or `1m30.5s` (OpenAI), or a bare number of seconds; null otherwise.
 */
export function parseReset(value: string, nowMs: number): number | null {
  const text = value.trim();
  // Checked first and strictly: read as a float, `2026-12-03T10:00:07Z` would be 2026 seconds.
  if (RFC3339.test(text)) {
    const at = Date.parse(text);
    return Number.isNaN(at) ? null : at;
  }
  if (GO_DURATION.test(text)) return nowMs + goDurationMs(text);
  if (DECIMAL.test(text)) {
    const number = Number(text);
    const ms = Math.ceil(number * 1000);
    return number > UNIX_SECONDS_FLOOR ? ms : nowMs + ms;
  }
  return null;
}

/** A Go duration in whole milliseconds, rounded up; exact in bigint nanoseconds. */
function goDurationMs(text: string): number {
  let ns = 0n;
  for (const [, whole = '', fraction = '', unit = 's'] of text.matchAll(GO_PART)) {
    const perUnit = UNIT_NS[unit] ?? 0n;
    ns += BigInt(whole || '0') * perUnit;
    if (fraction) ns += (BigInt(fraction) * perUnit) / 10n ** BigInt(fraction.length);
  }
  return Number((ns + 999_999n) / 1_000_000n);
}

function fromRetryAfterMs(value: string | undefined): number | null {
  if (value === undefined || !DECIMAL.test(value.trim())) return null;
  return ceilSeconds(Math.ceil(Number(value)));
}

function fromRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (DECIMAL.test(text)) return Math.ceil(Number(text));

  const at = Date.parse(text);
  return Number.isNaN(at) ? null : ceilSeconds(at - nowMs);
}

/** The latest reset among the exhausted buckets: a bucket with tokens left does not block. */
function fromBuckets(buckets: readonly RateLimitBucket[], nowMs: number): number | null {
  let latest: number | null = null;
  for (const bucket of buckets) {
    if (bucket.remaining !== 0 || bucket.resetAtMs === null) continue;
    if (latest === null || bucket.resetAtMs > latest) latest = bucket.resetAtMs;
  }
  return latest === null ? null : ceilSeconds(latest - nowMs);
}

/** Whole seconds for a delay in ms, rounded up, never negative. */
function ceilSeconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(Math.ceil(ms) / 1000);
}

function wholeNumber(value: string | undefined): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  return DIGITS.test(text) ? Number(text) : null;
}

/** A getter over the headers by lower-case name; the first value of a repeated header. */
function lowerCaseLookup(headers: HeaderBag): (name: string) => string | undefined {
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    const name = key.toLowerCase();
    if (first !== undefined && !map.has(name)) map.set(name, first);
  }
  return (name) => map.get(name);
}
