import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { rowOf } from '../support/ledger.js';

// Unmetered endpoints through the rewritten relay (UpstreamCall + relayBody): bodies in both
// directions byte for byte, answers without a body (HEAD, 204, 304, empty 200), informational
// 103 answers before the real one, and one `unmetered` row each with cost null.
let upstream: Server;
let gateway: TestGateway;
const DOWNLOAD = Buffer.alloc(5 * 1024 * 1024);
for (let i = 0; i < DOWNLOAD.length; i++) DOWNLOAD[i] = (i * 7919) & 0xff;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '';
      if (path === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o', object: 'model' }] }));
      } else if (path === '/v1/files' && req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ bytes: body.length, sha: sha(body), type: req.headers['content-type'] }),
        );
      } else if (path === '/v1/files/f/content') {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': DOWNLOAD.length,
        });
        if (req.method === 'HEAD') res.end();
        else res.end(DOWNLOAD);
      } else if (path === '/v1/files/chunked/content') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        let at = 0;
        const step = (): void => {
          if (at >= DOWNLOAD.length) return void res.end();
          res.write(DOWNLOAD.subarray(at, at + 100_003));
          at += 100_003;
          setImmediate(step);
        };
        step();
      } else if (path === '/v1/files/gone' && req.method === 'DELETE') {
        res.writeHead(204, { 'x-up': 'deleted' });
        res.end();
      } else if (path === '/v1/files/etag') {
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"' });
          res.end();
        } else {
          res.writeHead(200, { etag: '"v1"', 'content-type': 'text/plain' });
          res.end('fresh');
        }
      } else if (path === '/v1/files/hints') {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('after hints');
        }, 20);
      } else if (path === '/v1/files/broken/content') {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': DOWNLOAD.length,
        });
        res.write(DOWNLOAD.subarray(0, 1024 * 1024), () =>
          setTimeout(() => res.socket?.destroy(), 20),
        );
      } else if (path === '/v1/files/empty') {
        res.writeHead(200, { 'content-length': '0' });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: http://127.0.0.1:${port}, timeout: 5s }
`);
});

afterAll(async () => {
  await gateway.close(500);
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

type Got = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  informational: number[];
};

/** A raw node:http request (fetch hides 103s and HEAD details). */
function call(
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const informational: number[] = [];
    const req = request(gateway.url + '/openai' + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          informational,
        }),
      );
    });
    req.on('information', (info) => informational.push(info.statusCode));
    req.on('error', reject);
    req.end(body);
  });
}

async function unmeteredRow(got: Got) {
  const row = await rowOf(gateway, got.headers['x-spendgate-request-id'] as string);
  expect(row.flags).toEqual(['unmetered']);
  expect(row.costPico).toBeNull();
  return row;
}

describe('unmetered relay', () => {
  it('GET /v1/models', async () => {
    const got = await call('GET', '/v1/models');
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}');
    expect((await unmeteredRow(got)).status).toBe(200);
  });

  it('a 3 MB multipart upload reaches the upstream byte for byte', async () => {
    const payload = Buffer.concat([
      Buffer.from('--b\r\ncontent-disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n'),
      DOWNLOAD.subarray(0, 3 * 1024 * 1024),
      Buffer.from('\r\n--b--\r\n'),
    ]);
    const got = await call('POST', '/v1/files', payload, {
      'content-type': 'multipart/form-data; boundary=b',
      'content-length': String(payload.length),
    });
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body.toString())).toEqual({
      bytes: payload.length,
      sha: sha(payload),
      type: 'multipart/form-data; boundary=b',
    });
    await unmeteredRow(got);
  });

  it('a 5 MB download with content-length, and the same as chunks of odd sizes', async () => {
    const got = await call('GET', '/v1/files/f/content');
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe(String(DOWNLOAD.length));
    expect(sha(got.body)).toBe(sha(DOWNLOAD));
    await unmeteredRow(got);
    const chunked = await call('GET', '/v1/files/chunked/content');
    expect(chunked.headers['transfer-encoding']).toBe('chunked');
    expect(sha(chunked.body)).toBe(sha(DOWNLOAD));
    await unmeteredRow(chunked);
  });

  it('HEAD keeps the upstream content-length and sends no body', async () => {
    const got = await call('HEAD', '/v1/files/f/content');
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe(String(DOWNLOAD.length));
    expect(got.body.length).toBe(0);
    expect((await unmeteredRow(got)).status).toBe(200);
  });

  it('204, 304 and an empty 200 answer with no body', async () => {
    const gone = await call('DELETE', '/v1/files/gone');
    expect(gone.status).toBe(204);
    expect(gone.headers['x-up']).toBe('deleted');
    expect(gone.body.length).toBe(0);
    expect((await unmeteredRow(gone)).status).toBe(204);

    const cached = await call('GET', '/v1/files/etag', undefined, { 'if-none-match': '"v1"' });
    expect(cached.status).toBe(304);
    expect(cached.headers.etag).toBe('"v1"');
    expect(cached.body.length).toBe(0);
    expect((await unmeteredRow(cached)).status).toBe(304);

    const empty = await call('GET', '/v1/files/empty');
    expect(empty.status).toBe(200);
    expect(empty.headers['content-length']).toBe('0');
    expect(empty.body.length).toBe(0);
    await unmeteredRow(empty);
  });

  it('a 103 Early Hints before the 200 is not relayed; the 200 and its body are', async () => {
    const got = await call('GET', '/v1/files/hints');
    expect(got.informational).toEqual([]);
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('after hints');
    expect((await unmeteredRow(got)).status).toBe(200);
  });

  it('an upstream reset mid-download aborts the client response and records the failure', async () => {
    const outcome = await new Promise<{
      status: number;
      id: string;
      received: number;
      error: string;
    }>((resolve) => {
      const req = request(gateway.url + '/openai/v1/files/broken/content', (res) => {
        let received = 0;
        const done = (error: string) =>
          resolve({
            status: res.statusCode ?? 0,
            id: String(res.headers['x-spendgate-request-id']),
            received,
            error,
          });
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('error', (e) => done(e.message));
        res.on('end', () => done('ended'));
      });
      req.end();
    });
    expect(outcome.status).toBe(200);
    expect(outcome.received).toBe(1024 * 1024);
    expect(outcome.error).toBe('aborted');
    const row = await rowOf(gateway, outcome.id);
    expect(row.status).toBe(502);
    expect(row.decision).toBe('error');
    expect(row.reason).toBe('upstream_unavailable');
    expect(row.flags).toEqual(['unmetered']);
    expect(row.costPico).toBe(0n);
  });

  it('leaves exactly one row per request', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const rows = await gateway.rows();
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((r) => r.requestId)).size).toBe(10);
  });
});
