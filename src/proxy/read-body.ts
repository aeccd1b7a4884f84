import type { IncomingMessage } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { GatewayError } from '../errors.js';

/**
 * Reads a request body into one buffer, decoded when its `content-encoding` is gzip, deflate or
 * br; refuses (413) anything over `limit` bytes, sent or decoded, and (400) other encodings.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  // Nearly every body comes as it is: no extra step on the request path for those.
  if (encoding === undefined) return readRaw(req, limit);
  return readRaw(req, limit).then((body) => decodeBody(body, encoding, limit));
}

type Decoder = (body: Buffer, opts: { maxOutputLength: number }) => Buffer;

// HTTP's `deflate` is zlib-wrapped, but some clients send raw deflate data under that name.
const inflateEither: Decoder = (body, opts) => {
  try {
    return inflateSync(body, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
    return inflateRawSync(body, opts);
  }
};

const DECODERS: Readonly<Record<string, Decoder>> = {
  gzip: gunzipSync,
  'x-gzip': gunzipSync,
  deflate: inflateEither,
  br: brotliDecompressSync,
};

/**
 * Encodings undone for one body at most. Clients send one; each layer is decoded on the event
 * loop, so a long list of them would stall every other request.
 */
const MAX_ENCODING_LAYERS = 2;

/** A body as sent, with its encodings undone (listed in the order they were applied). */
export function decodeBody(body: Buffer, encoding: string | undefined, limit: number): Buffer {
  if (encoding === undefined) return body;
  const names = encoding
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'identity');
  if (names.length > MAX_ENCODING_LAYERS) {
    throw new GatewayError(
      'invalid_request',
      `content-encoding lists ${names.length} encodings; at most ${MAX_ENCODING_LAYERS} are decoded`,
    );
  }
  let out = body;
  for (const name of names.reverse()) {
    const decode = DECODERS[name];
    if (!decode) {
      throw new GatewayError(
        'invalid_request',
        `content-encoding "${name.slice(0, 40)}" is not supported: send the body uncompressed, or as gzip, deflate or br`,
      );
    }
    try {
      // The limit holds for the decoded size too, so a small compressed body cannot expand
      // into gigabytes.
      out = decode(out, { maxOutputLength: limit });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
      throw new GatewayError('invalid_request', `the request body is not valid ${name} data`);
    }
  }
  return out;
}

function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
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
