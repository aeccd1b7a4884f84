import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamCall } from './upstream-call.js';

/** A signal as the proxy passes one: an EventEmitter with `aborted`. */
class Signal extends EventEmitter {
  aborted = false;
  abort(): void {
    this.aborted = true;
    this.emit('abort');
  }
}

let server: Server;
let pool: Pool;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/chunks') {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-twice': ['a', 'b'] });
      let i = 0;
      const next = (): void => {
        if (i === 50) return void res.end();
        res.write(`chunk ${i++};`);
        setImmediate(next);
      };
      next();
    } else if (req.url === '/reset') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    } else if (req.url === '/hints') {
      // The hints go out well before the answer, as a server sends them while it works.
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'text/plain' }).end('after the hints'),
        50,
      );
    } else if (req.url === '/slow') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first');
      // Never ends on its own: the test aborts it.
    } else {
      res.writeHead(404).end('no');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(async () => {
  await pool.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function call(path: string, signal?: Signal): Promise<UpstreamCall> {
  const handler = new UpstreamCall(signal);
  pool.dispatch({ path, method: 'GET' }, handler);
  return handler.started;
}

const expectedChunks = Array.from({ length: 50 }, (_, i) => `chunk ${i};`).join('');

describe('UpstreamCall', () => {
  it('gives the status and the parsed headers, then the whole body', async () => {
    const res = await call('/chunks');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.headers['x-twice']).toEqual(['a', 'b']);
    expect((await res.bytes()).toString()).toBe(expectedChunks);
  });

  it('delivers every chunk once, in order, to a sink that pauses after each one', async () => {
    const res = await call('/chunks');
    const seen: string[] = [];
    let ends = 0;
    await new Promise<void>((resolve, reject) => {
      res.pipe({
        onData(chunk) {
          seen.push(chunk.toString());
          setTimeout(() => res.resume(), 1);
          return false;
        },
        onEnd() {
          ends += 1;
          // A late resume after the end must not tell the sink again.
          res.resume();
          setTimeout(resolve, 10);
        },
        onError: reject,
      });
    });
    expect(seen.join('')).toBe(expectedChunks);
    expect(ends).toBe(1);
  });

  it('fails the body when the upstream resets it midway', async () => {
    const res = await call('/reset');
    const failure = await new Promise<Error>((resolve) => {
      res.pipe({ onData: () => true, onEnd: () => resolve(new Error('ended')), onError: resolve });
    });
    expect(failure.message).not.toBe('ended');
  });

  it('stops a body midway when its signal fires, with undici abort error', async () => {
    const signal = new Signal();
    const res = await call('/slow', signal);
    const failure = new Promise<Error>((resolve) => {
      res.pipe({ onData: () => true, onEnd: () => resolve(new Error('ended')), onError: resolve });
    });
    signal.abort();
    expect((await failure) as Error & { code?: string }).toMatchObject({
      code: 'UND_ERR_ABORTED',
    });
  });

  it('never starts a call whose signal fired before it was sent', async () => {
    const signal = new Signal();
    signal.abort();
    await expect(call('/chunks', signal)).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
  });

  it('skips an informational 103 and answers with the real status', async () => {
    const res = await call('/hints');
    expect(res.statusCode).toBe(200);
    expect(res.headers.link).toBeUndefined();
    expect((await res.bytes()).toString()).toBe('after the hints');
  });

  it('keeps what came before a sink was attached', async () => {
    const res = await call('/chunks');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await res.bytes()).toString()).toBe(expectedChunks);
  });
});
