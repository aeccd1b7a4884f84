/**
 * The bench's baseline: the least a Node reverse proxy can do (node:http in, an undici Pool out,
 * bodies streamed both ways, hop-by-hop headers dropped). Whatever the gateway costs beyond this is
 * the price of metering. Run as its own process: `proxy.ts <upstream origin>`.
 */
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const pool = new Pool(process.argv[2] ?? 'http://127.0.0.1:1', { connections: 128 });

// The answer is relayed chunk by chunk with backpressure. stream.pipeline() into the response
// would do the same but measured about twice the CPU per request on Node 20, which would make
// the baseline, not the gateway, the thing being measured.
async function relay(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const upstream = await pool.request({
    path: req.url ?? '/',
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: forwardable(req.headers),
    body: req,
  });
  res.writeHead(upstream.statusCode, forwardable(upstream.headers));
  for await (const chunk of upstream.body) {
    if (!res.write(chunk)) await once(res, 'drain');
  }
  res.end();
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  relay(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});

process.on('SIGTERM', () => process.exit(0));
