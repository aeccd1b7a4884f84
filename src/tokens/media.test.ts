import { describe, expect, it } from 'vitest';
import {
  audioTokens,
  base64Bytes,
  documentTokens,
  DOCUMENT_TOKENS_PER_PAGE,
  openAiImageTokens,
} from './media.js';

describe('media: fixed estimates for non-text parts', () => {
  it('sizes base64 and the payload of a data URL', () => {
    expect(base64Bytes('AAAA')).toBe(3);
    expect(base64Bytes('data:audio/wav;base64,AAAAAAAA')).toBe(6);
  });

  it('prices a low-detail image at 85 and others at a 1024-pixel high-detail image', () => {
    expect(openAiImageTokens('low')).toBe(85);
    expect(openAiImageTokens('high')).toBe(765);
    expect(openAiImageTokens(undefined)).toBe(765);
  });

  it('estimates audio at 10 tokens a second by format', () => {
    // 21,334 base64 characters decode to 16,000 bytes: one second of mp3, a third of wav.
    const data = 'A'.repeat(21_334);

    expect(audioTokens(data, 'mp3')).toBe(10);
    expect(audioTokens(data, 'wav')).toBe(4);
    expect(audioTokens(data, 'flac')).toBe(10);
    expect(audioTokens(undefined, 'mp3')).toBe(10);
  });

  it('estimates a document by pages of 60 KB, between 1 and 100 pages', () => {
    expect(documentTokens(undefined)).toBe(DOCUMENT_TOKENS_PER_PAGE);
    expect(documentTokens('AAAA')).toBe(3_000);
    expect(documentTokens('A'.repeat(160_000))).toBe(6_000);
    expect(documentTokens('A'.repeat(10_000_000))).toBe(300_000);
  });
});
