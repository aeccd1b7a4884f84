import { deriveRetryAfter } from '../providers/retry-after.js';

type Buckets = ReturnType<typeof deriveRetryAfter>['buckets'];

/**
 * The rate-limit state each upstream last reported on a 429: which buckets were empty and
 * until when. Kept for status and metrics; the gateway itself never retries.
 */
export class UpstreamLimits {
  private readonly state = new Map<string, { atMs: number; buckets: Buckets }>();

  record(upstream: string, buckets: Buckets, atMs: number): void {
    this.state.set(upstream, { atMs, buckets });
  }

  get(upstream: string): { atMs: number; buckets: Buckets } | undefined {
    return this.state.get(upstream);
  }
}
