import type { PreparedUpstream } from '../config/prepare.js';
import type { Operation } from '../providers/types.js';

/** Where a proxied request goes and what it is. */
export type ProxyRoute = {
  upstream: PreparedUpstream;
  /** The path after `/<upstream>`, without the query string: the default `endpoint`. */
  path: string;
  /** `?...` including the question mark, or ''. */
  search: string;
  /** The metered operation, or null for endpoints that are forwarded unmetered. */
  op: Operation | null;
  /** Azure deployment named in the path. */
  deployment: string | null;
};

/** Path endings of the metered operations, checked in order (chat before legacy completions). */
const OPERATION_SUFFIXES: [string, Operation][] = [
  ['/chat/completions', 'chat'],
  ['/completions', 'completions'],
  ['/responses', 'responses'],
  ['/embeddings', 'embeddings'],
];

const AZURE_DEPLOYMENT = /\/deployments\/([^/]+)\//;
const AMBIGUOUS_PATH = /\/\/|\/\.\.?(\/|$)|%2f|%5c|%2e|\\/i;

/** Splits `/<upstream>/<path>?<query>`; returns the upstream name alone when it is unknown. */
export function matchRoute(
  url: string,
  method: string,
  upstreams: ReadonlyMap<string, PreparedUpstream>,
): ProxyRoute | { unknown: string } | { invalid: string } {
  const queryAt = url.indexOf('?');
  const fullPath = queryAt === -1 ? url : url.slice(0, queryAt);
  // A path the upstream might normalise differently (`//`, dot segments, encoded slashes)
  // could skip metering or escape base_url's prefix: refused rather than guessed at.
  if (AMBIGUOUS_PATH.test(fullPath)) return { invalid: fullPath };
  const search = queryAt === -1 ? '' : url.slice(queryAt);
  const slash = fullPath.indexOf('/', 1);
  const name = decodeSegment(slash === -1 ? fullPath.slice(1) : fullPath.slice(1, slash));
  const upstream = upstreams.get(name);
  if (!upstream) return { unknown: name };

  const path = slash === -1 ? '/' : fullPath.slice(slash);
  const deployment =
    upstream.format === 'azure-openai' ? (AZURE_DEPLOYMENT.exec(path)?.[1] ?? null) : null;
  return {
    upstream,
    path,
    search,
    op: method === 'POST' ? operationOf(upstream, path) : null,
    deployment,
  };
}

function operationOf(upstream: PreparedUpstream, path: string): Operation | null {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  if (upstream.format === 'anthropic') return trimmed.endsWith('/messages') ? 'messages' : null;
  for (const [suffix, op] of OPERATION_SUFFIXES) if (trimmed.endsWith(suffix)) return op;
  return null;
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
