import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { PreparedUpstream } from '../config/prepare.js';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus ones a proxy must set itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key'];

/** How each format carries the provider key. */
const KEY_HEADER: Record<PreparedUpstream['format'], (key: string) => [string, string]> = {
  openai: (key) => ['authorization', `Bearer ${key}`],
  anthropic: (key) => ['x-api-key', key],
  'azure-openai': (key) => ['api-key', key],
};

/**
 * The headers sent upstream: the client's, minus hop-by-hop and Spendgate's own, with the
 * client's credential replaced by the provider key when the gateway holds one. When it holds
 * none, the client's key passes, but a Spendgate credential (`credentialHeaders`) never does.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  upstream: PreparedUpstream,
  opts: {
    credentialHeaders: readonly string[];
    /**
     * The gateway reads the request and the answer (a metered call): the request goes as the
     * gateway decoded it, without its `content-encoding`, and the answer is asked for
     * uncompressed.
     */
    readsBodies: boolean;
    bodyLength: number | null;
  },
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionListed(incoming.connection);
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    if (name === 'host' || name === 'content-length' || name.startsWith('x-spendgate-')) continue;
    out[name] = value;
  }

  if (upstream.apiKey) for (const name of CREDENTIAL_HEADERS) delete out[name];
  else for (const name of opts.credentialHeaders) delete out[name];
  if (upstream.apiKey) {
    const [name, value] = KEY_HEADER[upstream.format](upstream.apiKey);
    out[name] = value;
  }
  if (opts.readsBodies) {
    delete out['content-encoding'];
    out['accept-encoding'] = 'identity';
  }
  if (opts.bodyLength !== null) out['content-length'] = String(opts.bodyLength);
  return out;
}

/**
 * The upstream's response headers as the client gets them: hop-by-hop ones removed, and
 * Spendgate's own (`ours`) added. A Spendgate behind this one sends its own `x-spendgate-*`
 * headers; they are dropped, not only overridden, since this gateway does not always send the
 * same ones (no cost for a model it cannot price), and the inner one's would pass for its own.
 */
export function clientResponseHeaders(
  upstreamHeaders: Record<string, string | string[] | undefined>,
  opts: { dropLength: boolean; ours?: Readonly<Record<string, string>> },
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const listed = connectionListed(upstreamHeaders.connection);
  for (const name in upstreamHeaders) {
    const value = upstreamHeaders[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    if (opts.dropLength && name === 'content-length') continue;
    if (name.startsWith('x-spendgate-')) continue;
    out[name] = value;
  }
  return opts.ours ? Object.assign(out, opts.ours) : out;
}

/** The first value of a header that may repeat. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function connectionListed(value: string | string[] | undefined): Set<string> | null {
  const text = headerValue(value);
  if (!text) return null;
  // The usual `keep-alive` names only a header that is dropped anyway.
  if (text === 'keep-alive') return null;
  return new Set(
    text
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}
