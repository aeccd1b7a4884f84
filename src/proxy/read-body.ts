import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

/** Reads a request body into one buffer, refusing (413) anything over `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)),
    );
    req.on('error', (err) =>
      reject(
        new GatewayError('invalid_request', 'the request body could not be read', { cause: err }),
      ),
    );
  });
}

function tooLarge(limit: number): GatewayError {
  const mb = Math.round((limit / 1024 / 1024) * 100) / 100;
  return new GatewayError(
    'request_too_large',
    `request body is larger than the gateway's limit of ${mb} MB (listen.max_body_mb)`,
  );
}
