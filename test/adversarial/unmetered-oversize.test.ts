import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { gatewayOverMock } from '../support/gateway.js';
import { rowOf } from '../support/ledger.js';

// An unmetered endpoint streams its body through; one sent without a content-length is cut
// off when it passes listen.max_body_mb, and the client gets 413 in its API's format.
const env = gatewayOverMock(
  (url) => `
listen: { max_body_mb: 1 }
upstreams:
  openai: { format: openai, base_url: ${url} }
`,
);

/** POSTs `size` bytes in 64 KiB chunks with no content-length (chunked). */
function chunkedPost(
  path: string,
  size: number,
): Promise<{ status: number; id: string; connection: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(env.gateway.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          id: String(res.headers['x-spendgate-request-id']),
          connection: String(res.headers.connection),
          body,
        }),
      );
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const more = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', more);
      }
      req.end();
    };
    more();
  });
}

describe('an unmetered upload without a content-length', () => {
  it('past the body limit gets 413 in the API format and one row', async () => {
    env.upstream.reply('/v1/files', { kind: 'json', body: { id: 'file-1' } });

    const answer = await chunkedPost('/openai/v1/files', 3 * 1024 * 1024);

    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'request_too_large' } });
    // The rest of the body is not read: the connection closes rather than stall the next request.
    expect(answer.connection).toBe('close');
    const row = await rowOf(env.gateway, answer.id);
    expect(row).toMatchObject({ status: 413, reason: 'request_too_large' });
    expect(row.flags).toContain('unmetered');
  });

  it('under the limit is passed through, also right after one that was refused', async () => {
    env.upstream.reply('/v1/files', { kind: 'json', body: { id: 'file-2' } });

    const answer = await chunkedPost('/openai/v1/files', 512 * 1024);

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ id: 'file-2' });
    expect(env.upstream.received.at(-1)?.body.length).toBe(512 * 1024);
  });
});
