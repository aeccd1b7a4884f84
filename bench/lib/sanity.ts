/**
 * One request of each shape down each path before the timed phases, to show that the three
 * paths answer the same bytes and that the gateway priced the request (its cost header).
 */
import { request } from 'undici';
import { chatRequestBody, streamRequestBody } from './payloads.js';

/** What one probe saw. */
export type Probe = { status: number; bytes: number; body: Buffer; costHeader: string | null };

/** Sends one request of `shape` to `origin + path` and reads it whole. */
export async function probe(
  origin: string,
  path: string,
  shape: 'chat' | 'stream',
): Promise<Probe> {
  const res = await request(origin + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-org-id': 'acme', 'x-app': 'bench-probe' },
    body: (shape === 'chat' ? chatRequestBody : streamRequestBody)(0),
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  const cost = res.headers['x-spendgate-cost-usd'];
  return {
    status: res.statusCode,
    bytes: body.length,
    body,
    costHeader: typeof cost === 'string' ? cost : null,
  };
}
