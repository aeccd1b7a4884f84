import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// A client that stops reading an unmetered download and then goes away must still leave exactly
// one ledger row (SPEC "Bad input": a client that disconnects, nothing is lost).
let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: ${upstream.url}, timeout: 5s }
`);
  upstream.reply('/v1/files/file-1/content', {
    kind: 'raw',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(32 * 1024 * 1024, 97),
  });
});

afterAll(async () => {
  await gateway.close(500);
  await upstream.close();
});

/** Starts a download, reads nothing for a while (backpressure), then drops the connection. */
function stalledDownload(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(gateway.url + path, { method: 'GET' }, (res) => {
      const id = res.headers['x-spendgate-request-id'];
      res.pause();
      setTimeout(() => {
        req.destroy();
        resolve(String(id));
      }, 300);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('unmetered passthrough: a client that disconnects under backpressure', () => {
  it('still gets exactly one ledger row, flagged unmetered', async () => {
    const id = await stalledDownload('/openai/v1/files/file-1/content');

    let rows = (await gateway.rows()).filter((r) => r.requestId === id);
    for (let i = 0; i < 40 && rows.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      rows = (await gateway.rows()).filter((r) => r.requestId === id);
    }

    expect(rows).toHaveLength(1);
    expect(rows[0]?.flags).toContain('unmetered');
  });
});
