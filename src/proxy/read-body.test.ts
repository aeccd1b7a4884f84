import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { decodeBody } from './read-body.js';

const JSON_BODY = Buffer.from(
  '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
);
const LIMIT = 1024;

function refusal(run: () => unknown): [string, number, string] | null {
  try {
    run();
    return null;
  } catch (err) {
    const e = err as GatewayError;
    return [e.code, e.httpStatus, e.message];
  }
}

describe('request body encodings', () => {
  it('decodes gzip, deflate (zlib or raw), br, and encodings applied one after the other', () => {
    const cases: [string | undefined, Buffer][] = [
      [undefined, JSON_BODY],
      ['identity', JSON_BODY],
      ['gzip', gzipSync(JSON_BODY)],
      ['x-gzip', gzipSync(JSON_BODY)],
      ['deflate', deflateSync(JSON_BODY)],
      ['deflate', deflateRawSync(JSON_BODY)],
      ['br', brotliCompressSync(JSON_BODY)],
      ['GZIP', gzipSync(JSON_BODY)],
      ['gzip, br', brotliCompressSync(gzipSync(JSON_BODY))],
    ];

    for (const [encoding, body] of cases) {
      expect(decodeBody(body, encoding, LIMIT).toString()).toBe(JSON_BODY.toString());
    }
  });

  it('refuses what it cannot decode with 400, and a body that decodes past the limit with 413', () => {
    const bomb = gzipSync(Buffer.alloc(LIMIT * 100, 'a'));

    expect(bomb.length).toBeLessThan(LIMIT);
    expect(refusal(() => decodeBody(bomb, 'gzip', LIMIT))).toEqual([
      'request_too_large',
      413,
      "request body is larger than the gateway's limit of 0 MB (listen.max_body_mb)",
    ]);
    expect(refusal(() => decodeBody(JSON_BODY, 'zstd', LIMIT))).toEqual([
      'invalid_request',
      400,
      'content-encoding "zstd" is not supported: send the body uncompressed, or as gzip, deflate or br',
    ]);
    expect(refusal(() => decodeBody(JSON_BODY, 'gzip, gzip, gzip', LIMIT))).toEqual([
      'invalid_request',
      400,
      'content-encoding lists 3 encodings; at most 2 are decoded',
    ]);
    expect(refusal(() => decodeBody(JSON_BODY, 'gzip', LIMIT))).toEqual([
      'invalid_request',
      400,
      'the request body is not valid gzip data',
    ]);
  });
});
