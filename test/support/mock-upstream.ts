import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the mock received for one request. */
export type ReceivedRequest = {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
};

/** One scripted answer. Chunks are written one by one with a pause, so they arrive as separate reads. */
export type MockReply =
  | {
      kind: 'json';
      status?: number;
      headers?: Record<string, string>;
      body: unknown;
      delayMs?: number;
    }
  | {
      kind: 'raw';
      status?: number;
      headers?: Record<string, string>;
      body: string | Buffer;
      delayMs?: number;
    }
  | {
      kind: 'sse';
      status?: number;
      headers?: Record<string, string>;
      chunks: (string | Buffer)[];
      gapMs?: number;
      /** Destroy the socket after the chunks instead of ending the response. */
      reset?: boolean;
      /** Stop after the chunks and hang (for client-disconnect and timeout tests). */
      hang?: boolean;
    }
  | { kind: 'hang' }
  | { kind: 'reset' };

export type MockUpstream = {
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** Sets the reply for requests whose path (without query) ends with `suffix`. */
  reply(suffix: string, reply: MockReply | ((req: ReceivedRequest) => MockReply)): void;
  close(): Promise<void>;
};

/** A local server that speaks whatever bytes a test scripts, on 127.0.0.1 and a free port. */
export async function startMockUpstream(): Promise<MockUpstream> {
  const received: ReceivedRequest[] = [];
  const replies = new Map<string, MockReply | ((req: ReceivedRequest) => MockReply)>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(got);
      const path = got.url.split('?')[0] ?? '';
      const match = [...replies.entries()]
        .filter(([suffix]) => path.endsWith(suffix))
        .sort((a, b) => b[0].length - a[0].length)[0];
      const scripted = match?.[1];
      const reply: MockReply =
        typeof scripted === 'function'
          ? scripted(got)
          : (scripted ?? {
              kind: 'json',
              status: 404,
              body: { error: { message: 'no reply scripted' } },
            });
      void play(reply, req.socket, res);
    });
  });
  server.keepAliveTimeout = 1_000;

  async function play(
    reply: MockReply,
    socket: import('node:net').Socket,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    if (reply.kind === 'hang') return;
    if (reply.kind === 'reset') {
      socket.destroy();
      return;
    }
    if (reply.kind === 'json' || reply.kind === 'raw') {
      if (reply.delayMs) await sleep(reply.delayMs);
      const body = reply.kind === 'json' ? JSON.stringify(reply.body) : reply.body;
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(body);
      return;
    }
    res.writeHead(reply.status ?? 200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      ...reply.headers,
    });
    res.flushHeaders();
    for (const chunk of reply.chunks) {
      res.write(chunk);
      await sleep(reply.gapMs ?? 5);
      if (res.destroyed) return;
    }
    if (reply.reset) socket.destroy();
    else if (!reply.hang) res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    reply: (suffix, reply) => {
      replies.set(suffix, reply);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** SSE text for a list of OpenAI-style data payloads, each as its own chunk, ending in [DONE]. */
export function openAiSse(payloads: unknown[], done = true): string[] {
  const chunks = payloads.map((p) => `data: ${JSON.stringify(p)}\n\n`);
  if (done) chunks.push('data: [DONE]\n\n');
  return chunks;
}

/** SSE text for Anthropic-style events (`event:` line plus data), each as its own chunk. */
export function anthropicSse(events: { type: string; [k: string]: unknown }[]): string[] {
  return events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
