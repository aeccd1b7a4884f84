import { describe, expect, it } from 'vitest';
import { budgetWarning, writeRateLimitHeaders } from './headers.js';

const figures = { quota: 1000, remaining: 400, windowSeconds: 60, resetSeconds: 12 };

describe('decision headers: policy names', () => {
  it('writes a plain name as it is', () => {
    const headers: Record<string, string> = {};

    writeRateLimitHeaders(headers, { name: 'team-rpm', ...figures });

    expect(headers).toEqual({
      'ratelimit-policy': '"team-rpm";q=1000;w=60',
      ratelimit: '"team-rpm";r=400;t=12',
    });
    expect(budgetWarning('org-daily', 0.8)).toBe('org-daily; used=80%');
  });

  it('escapes quotes and backslashes in the RateLimit sf-string, after percent-encoding', () => {
    const headers: Record<string, string> = {};

    writeRateLimitHeaders(headers, { name: '予算 "a\\b"', ...figures });

    expect(headers['ratelimit-policy']).toBe('"%E4%BA%88%E7%AE%97 \\"a\\\\b\\"";q=1000;w=60');
  });

  it('percent-encodes commas and semicolons in a warning entry', () => {
    expect(budgetWarning('a,b; c', 0.915)).toBe('a%2Cb%3B c; used=91.5%');
    expect(budgetWarning('予算,x', 1)).toBe('%E4%BA%88%E7%AE%97%2Cx; used=100%');
  });

  it('percent-encodes Latin-1 letters, tabs, emoji and the percent sign itself', () => {
    const headers: Record<string, string> = {};

    writeRateLimitHeaders(headers, { name: 'café\t50% 😀', ...figures });

    expect(headers['ratelimit']).toBe('"caf%C3%A9%0950%25 %F0%9F%98%80";r=400;t=12');
    expect(budgetWarning('café 50%', 0.5)).toBe('caf%C3%A9 50%25; used=50%');
    // A name that reads like an encoding is encoded too, so it decodes back to itself.
    expect(budgetWarning('a%2Cb', 0.5)).toBe('a%252Cb; used=50%');
    expect(decodeURIComponent('caf%C3%A9%0950%25 %F0%9F%98%80')).toBe('café\t50% 😀');
  });
});
