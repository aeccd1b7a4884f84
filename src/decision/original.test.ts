import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { asciiJson } from './answer.js';
import { hasBody, hintsOf, isDecisionCall, originalRequest, rejectStatusOf } from './original.js';

function call(url: string, method: string, headers: Record<string, string> = {}): IncomingMessage {
  return { url, method, headers } as unknown as IncomingMessage;
}

describe('decision call: the original request', () => {
  it('routes /v1/decision with or without a path or query, and nothing else', () => {
    expect(
      ['/v1/decision', '/v1/decision/openai/v1/models', '/v1/decision?x=1', '/v1/decisions'].map(
        isDecisionCall,
      ),
    ).toEqual([true, true, true, false]);
  });

  it('reads X-Original-URI and X-Original-Method, upper-casing the method', () => {
    const req = call('/v1/decision', 'POST', {
      'x-original-uri': '/openai/v1/chat/completions?x=1',
      'x-original-method': 'post',
    });

    expect(originalRequest(req)).toEqual({
      uri: '/openai/v1/chat/completions?x=1',
      method: 'POST',
    });
  });

  it("falls back to Traefik's X-Forwarded-Uri and X-Forwarded-Method", () => {
    const req = call('/v1/decision', 'GET', {
      'x-forwarded-uri': '/openai/v1/models',
      'x-forwarded-method': 'GET',
    });

    expect(originalRequest(req)).toEqual({ uri: '/openai/v1/models', method: 'GET' });
  });

  it("takes Envoy's prefixed path and the call's own method", () => {
    const req = call('/v1/decision/anthropic/v1/messages?beta=true', 'POST');

    expect(originalRequest(req)).toEqual({
      uri: '/anthropic/v1/messages?beta=true',
      method: 'POST',
    });
  });

  it('assumes POST without a method header', () => {
    expect(originalRequest(call('/v1/decision', 'GET', { 'x-original-uri': '/a/b' })).method).toBe(
      'POST',
    );
  });

  it('refuses a call without the original path, or with a full URL', () => {
    expect(() => originalRequest(call('/v1/decision', 'POST'))).toThrow(/X-Original-URI/);
    expect(() =>
      originalRequest(call('/v1/decision', 'POST', { 'x-original-uri': 'http://h/openai/v1' })),
    ).toThrow(/not a full URL/);
  });
});

describe('decision call: hints and answer style', () => {
  it('reads the hints, with 0 prompt tokens and no output limit when absent', () => {
    expect(hintsOf({ 'x-spendgate-model': 'gpt-4o' })).toEqual({
      model: 'gpt-4o',
      inputTokens: 0,
      maxOutputTokens: undefined,
      fingerprint: undefined,
    });
    // An output limit of 0 is no limit, as `max_tokens: 0` in a body is: the default is reserved.
    expect(
      hintsOf({ 'x-spendgate-estimate-tokens': '1200', 'x-spendgate-max-output-tokens': '0' }),
    ).toMatchObject({ inputTokens: 1200, maxOutputTokens: undefined });
    expect(hintsOf({ 'x-spendgate-max-output-tokens': '300' })).toMatchObject({
      maxOutputTokens: 300,
    });
  });

  it('refuses token hints that are not whole non-negative numbers', () => {
    for (const bad of ['', ' ', '-1', '1.5', '1e3x', 'lots']) {
      expect(() => hintsOf({ 'x-spendgate-estimate-tokens': bad })).toThrow(/whole number/);
    }
  });

  it('takes 401 or 403 as the refusal status, and nothing else', () => {
    expect(rejectStatusOf({})).toBeNull();
    expect(rejectStatusOf({ 'x-spendgate-reject-status': '403' })).toBe(403);
    expect(() => rejectStatusOf({ 'x-spendgate-reject-status': '429' })).toThrow(/401 or 403/);
  });

  it('sees a forwarded body by its length or chunked encoding', () => {
    expect([
      hasBody({}),
      hasBody({ 'content-length': '0' }),
      hasBody({ 'content-length': '12' }),
      hasBody({ 'transfer-encoding': 'chunked' }),
    ]).toEqual([false, false, true, true]);
  });

  it('escapes a JSON body to ASCII without changing its value', () => {
    const body = JSON.stringify({ error: { message: 'org "café" 東京 😀' } });

    const escaped = asciiJson(body);

    expect(escaped).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(escaped)).toEqual(JSON.parse(body));
  });
});
