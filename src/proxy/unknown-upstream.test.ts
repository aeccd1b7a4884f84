import { describe, expect, it } from 'vitest';
import { unknownUpstreamError } from './unknown-upstream.js';

describe('unknown upstream: the 404 names what was asked for, within bounds', () => {
  it('repeats a short name whole and lists the configured upstreams', () => {
    const err = unknownUpstreamError('nope', ['openai', 'anthropic']);

    expect(err.code).toBe('unknown_upstream');
    expect(err.httpStatus).toBe(404);
    expect(err.message).toBe('no upstream named "nope"; configured: /openai, /anthropic');
  });

  it('keeps a name of exactly 100 characters whole', () => {
    const err = unknownUpstreamError('a'.repeat(100), ['openai']);

    expect(err.message).toBe(`no upstream named "${'a'.repeat(100)}"; configured: /openai`);
  });

  it('cuts a longer name at 100 characters and marks the cut', () => {
    const err = unknownUpstreamError(`${'b'.repeat(100)}tail`, ['openai']);

    expect(err.message).toBe(`no upstream named "${'b'.repeat(100)}…"; configured: /openai`);
  });
});
