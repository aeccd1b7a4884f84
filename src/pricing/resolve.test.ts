import { describe, expect, it } from 'vitest';
import { familyAlias, parseFineTune, stripProviderPrefix } from './resolve.js';

describe('model names: fine-tunes', () => {
  it('splits an openai fine-tune with an empty suffix by position', () => {
    expect(parseFineTune('ft:gpt-4o-mini-2024-07-18:acme-corp::9xYzAb12')).toEqual({
      base: 'gpt-4o-mini-2024-07-18',
      org: 'acme-corp',
      suffix: '',
      id: '9xYzAb12',
    });
  });

  it('splits an openai fine-tune with a suffix', () => {
    expect(parseFineTune('ft:gpt-4o-2024-08-06:acme-corp:support-bot:AbC123')).toEqual({
      base: 'gpt-4o-2024-08-06',
      org: 'acme-corp',
      suffix: 'support-bot',
      id: 'AbC123',
    });
  });

  it('accepts the older four-part form without a suffix', () => {
    expect(parseFineTune('ft:gpt-3.5-turbo:my-org:abc')).toEqual({
      base: 'gpt-3.5-turbo',
      org: 'my-org',
      suffix: '',
      id: 'abc',
    });
  });

  it('splits an azure fine-tune name', () => {
    expect(parseFineTune('gpt-4o-mini-2024-07-18.ft-0a1b2c')).toEqual({
      base: 'gpt-4o-mini-2024-07-18',
      org: '',
      suffix: '',
      id: '0a1b2c',
    });
  });

  it('returns null for ordinary names and an empty base', () => {
    expect(parseFineTune('gpt-4o')).toBeNull();
    expect(parseFineTune('ft::acme::id')).toBeNull();
  });
});

describe('model names: provider prefixes', () => {
  const rows: [string, string][] = [
    ['openai/gpt-4o', 'gpt-4o'],
    ['anthropic/claude-3-5-sonnet-20241022', 'claude-3-5-sonnet-20241022'],
    ['azure/gpt-audio', 'gpt-audio'],
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet-20241022'],
    ['us.anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet-20241022'],
    ['eu.anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku-20240307'],
    ['meta.llama3-1-70b-instruct-v1:0', 'llama3-1-70b-instruct'],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet-20241022'],
    ['claude-3-7-sonnet@20250219', 'claude-3-7-sonnet-20250219'],
    [
      'projects/p/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022',
      'claude-3-5-sonnet-20241022',
    ],
    ['  gpt-4o  ', 'gpt-4o'],
    ['gpt-5.1', 'gpt-5.1'],
    ['ft:gpt-4o-mini-2024-07-18:acme::id', 'ft:gpt-4o-mini-2024-07-18:acme::id'],
  ];

  for (const [raw, expected] of rows) {
    it(`turns ${raw.trim()} into ${expected}`, () => {
      expect(stripProviderPrefix(raw)).toBe(expected);
    });
  }
});

describe('model names: family aliases of snapshots', () => {
  const rows: [string, string | null][] = [
    ['gpt-4o-2024-11-20', 'gpt-4o'],
    ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
    ['gpt-4-0613', 'gpt-4'],
    ['mistral-large-2411', 'mistral-large'],
    ['gemini-1.5-pro-002', 'gemini-1.5-pro'],
    ['gpt-4o', null],
    ['gpt-9-unknown', null],
    ['llama-3-70b', null],
  ];

  for (const [name, alias] of rows) {
    it(`maps ${name} to ${alias ?? 'no alias'}`, () => {
      expect(familyAlias(name)).toBe(alias);
    });
  }
});
