import type { AbortSource } from './request-abort.js';
import { Pool, type Dispatcher } from 'undici';
import type { PreparedUpstream } from '../config/prepare.js';
import { UpstreamCall } from './upstream-call.js';

/**
 * One keep-alive connection pool per upstream origin. node:http in front of an undici Pool was
 * the cheapest relay measured on Node 20 (fetch() cost several times the CPU per request).
 */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private byUpstream = new WeakMap<PreparedUpstream, Pool>();

  /**
   * Sends one request upstream; its `started` settles when the status line and headers have
   * come. The upstream's `timeoutMs` bounds the wait for headers and each gap in the body.
   */
  call(
    upstream: PreparedUpstream,
    opts: {
      path: string;
      method: string;
      headers: Record<string, string | string[]>;
      body: Buffer | NodeJS.ReadableStream | null;
      /** Stops the call when it emits `abort`. */
      signal: AbortSource | undefined;
      /** Stops it too: the end of a graceful stop's grace period. */
      deadline?: AbortSource | undefined;
    },
  ): UpstreamCall {
    const call = new UpstreamCall(opts.signal, opts.deadline);
    this.poolFor(upstream).dispatch(
      {
        path: upstream.basePath + opts.path,
        method: opts.method as Dispatcher.HttpMethod,
        headers: opts.headers,
        body: opts.body as Dispatcher.DispatchOptions['body'],
        headersTimeout: upstream.timeoutMs,
        bodyTimeout: upstream.timeoutMs,
      },
      call,
    );
    return call;
  }

  /**
   * After a reload: closes the pools that none of `upstreams` uses. undici's `close` lets the
   * requests already on a pool finish first; the upstreams of the previous config are looked up
   * again, so a request admitted before the reload and forwarded after it does not find a closed
   * pool (it opens one for its origin, closed at the next reload or at shutdown).
   */
  retire(upstreams: Iterable<PreparedUpstream>): void {
    const used = new Set<string>();
    for (const upstream of upstreams) used.add(poolKey(upstream));
    for (const [key, pool] of this.pools) {
      if (used.has(key)) continue;
      this.pools.delete(key);
      // undici's close rejects only for a destroyed pool, which these never are; a rejection
      // must still not become an unhandled one that stops the process.
      pool.close().catch(() => undefined);
    }
    this.byUpstream = new WeakMap();
  }

  /** Closes every pool, letting requests in flight finish. */
  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
    this.byUpstream = new WeakMap();
  }

  private poolFor(upstream: PreparedUpstream): Pool {
    const known = this.byUpstream.get(upstream);
    if (known) return known;
    // A reload prepares new upstream objects: one with the same origin and size shares the pool.
    const key = poolKey(upstream);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(upstream.origin, {
        connections: upstream.connections,
        keepAliveTimeout: 30_000,
      });
      this.pools.set(key, pool);
    }
    this.byUpstream.set(upstream, pool);
    return pool;
  }
}

function poolKey(upstream: PreparedUpstream): string {
  return `${upstream.origin}|${upstream.connections}`;
}
