import { describe, expect, it } from 'vitest';
import type { PreparedUpstream } from '../config/prepare.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';

const upstream: PreparedUpstream = {
  name: 'openai',
  format: 'openai',
  dialect: 'openai',
  provider: 'openai',
  origin: 'http://127.0.0.1:1',
  basePath: '',
  apiKey: 'sk-provider',
  holdsKey: true,
  timeoutMs: 30_000,
  deployments: {},
  unmetered: 'forward',
  connections: 8,
};

const opts = { credentialHeaders: [], readsBodies: true, bodyLength: 12 };

describe('upstream request headers', () => {
  it('drops hop-by-hop headers and keeps the rest for a keep-alive connection', () => {
    const out = upstreamRequestHeaders(
      {
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        host: 'gateway',
        'content-length': '99',
        'x-spendgate-org': 'acme',
        'x-trace': 'abc',
        authorization: 'Bearer client',
      },
      upstream,
      opts,
    );
    expect(out).toEqual({
      'x-trace': 'abc',
      authorization: 'Bearer sk-provider',
      'accept-encoding': 'identity',
      'content-length': '12',
    });
  });

  it('drops the headers a connection header names', () => {
    const out = upstreamRequestHeaders(
      { connection: 'keep-alive, X-Private', 'x-private': '1', 'x-trace': 'abc' },
      upstream,
      opts,
    );
    expect(out).toEqual({
      'x-trace': 'abc',
      authorization: 'Bearer sk-provider',
      'accept-encoding': 'identity',
      'content-length': '12',
    });
  });
});

describe('client response headers', () => {
  it('drops hop-by-hop headers, named ones and the length when asked', () => {
    const out = clientResponseHeaders(
      {
        connection: 'close, x-hop',
        'x-hop': '1',
        'transfer-encoding': 'chunked',
        'content-length': '10',
        'content-type': 'text/event-stream',
        'set-cookie': ['a=1', 'b=2'],
        'x-absent': undefined,
      },
      { dropLength: true },
    );
    expect(out).toEqual({ 'content-type': 'text/event-stream', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('drops the x-spendgate headers of a Spendgate behind this one', () => {
    const out = clientResponseHeaders(
      {
        'content-type': 'application/json',
        'x-spendgate-request-id': 'inner',
        'x-spendgate-cost-usd': '0.0123',
        'x-spendgate-budget-warning': 'inner-daily; used=91%',
      },
      { dropLength: false, ours: { 'x-spendgate-request-id': 'outer' } },
    );
    expect(out).toEqual({ 'content-type': 'application/json', 'x-spendgate-request-id': 'outer' });
  });
});
