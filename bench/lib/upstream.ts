/**
 * The bench's stand-in for an OpenAI-compatible provider, run as its own process so its CPU
 * time is counted apart. It answers every POST with a prebuilt chat.completion, or with a
 * 20-chunk stream when the body asks for one, and sends its port to the parent over IPC.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatResponseBody, streamEvents } from './payloads.js';

// The headers OpenAI sends beside a completion, so the relays copy a realistic set.
const COMMON_HEADERS = {
  'openai-organization': 'bench-org',
  'openai-processing-ms': '412',
  'openai-version': '2020-10-01',
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-limit-tokens': '30000000',
  'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-remaining-tokens': '29999700',
  'x-ratelimit-reset-requests': '6ms',
  'x-ratelimit-reset-tokens': '0s',
  'x-request-id': 'req_5f2b1c0e9a7d4e3f8b6a2c1d0e9f8a7b',
};

const JSON_HEADERS = {
  ...COMMON_HEADERS,
  'content-type': 'application/json',
  'content-length': String(chatResponseBody.length),
};

const SSE_HEADERS = { ...COMMON_HEADERS, 'content-type': 'text/event-stream; charset=utf-8' };

const STREAM_FLAG = Buffer.from('"stream":true');

// Each event goes out in its own write on its own turn of the event loop, as a provider sends
// tokens as they are generated, so the relay in front sees separate reads, not one blob.
function writeStream(res: ServerResponse, index: number): void {
  const event = streamEvents[index];
  if (event === undefined || res.destroyed) {
    res.end();
    return;
  }
  res.write(event);
  setImmediate(writeStream, res, index + 1);
}

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  if (req.method !== 'POST') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
    return;
  }
  if (body.includes(STREAM_FLAG)) {
    res.writeHead(200, SSE_HEADERS);
    writeStream(res, 0);
    return;
  }
  res.writeHead(200, JSON_HEADERS);
  res.end(chatResponseBody);
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => answer(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});

process.on('SIGTERM', () => process.exit(0));
