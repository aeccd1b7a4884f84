import { describe, expect, it } from 'vitest';
import * as cases from './case-streams.fixture.js';
import { SseParser, terminatedRaw, type SseBlock } from './parser.js';

/** Parses `body` fed as the given pieces; the end block, if any, comes last. */
function parse(pieces: Buffer[]): SseBlock[] {
  const parser = new SseParser();
  const blocks = pieces.flatMap((piece) => parser.push(piece));
  const last = parser.end();
  return last ? [...blocks, last] : blocks;
}

function splitAt(body: Buffer, offsets: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const offset of offsets) {
    pieces.push(body.subarray(from, offset));
    from = offset;
  }
  pieces.push(body.subarray(from));
  return pieces;
}

/** A small deterministic generator, so a failing split can be reproduced. */
function randomPieces(body: Buffer, seed: number): Buffer[] {
  let state = seed;
  const offsets: number[] = [];
  let at = 0;
  for (;;) {
    state = (state * 1103515245 + 12345) % 2147483648;
    at += 1 + (state % 7);
    if (at >= body.length) return splitAt(body, offsets);
    offsets.push(at);
  }
}

/** Blocks as plain values, `raw` as a latin1 string, for deep equality. */
function view(blocks: SseBlock[]): unknown[] {
  return blocks.map((block) => ({ ...block, raw: block.raw.toString('latin1') }));
}

const CASE_BODIES: Record<string, string> = {
  '9A': cases.CASE_9A,
  '9B': cases.CASE_9B,
  '11A': cases.CASE_11A,
  '11B': cases.CASE_11B,
  '11C': cases.CASE_11C,
  '13': cases.CASE_13,
  '17A': cases.CASE_17A,
  '17B': cases.CASE_17B,
  '17C': cases.CASE_17C,
  '17D': cases.CASE_17D,
  anthropic: cases.ANTHROPIC_STREAM,
  crlf: cases.CASE_9A.replaceAll('\n', '\r\n'),
  cr: cases.CASE_11A.replaceAll('\n', '\r'),
  utf8: '\uFEFFdata: h\u00e9llo \u20ac \u{1F600}\r\n: note\r\ndata: line two\r\n\r\n',
};

describe('sse parser: chunk boundaries', () => {
  for (const [name, text] of Object.entries(CASE_BODIES)) {
    const body = Buffer.from(text, 'utf8');
    const whole = view(parse([body]));

    it(`gives the same blocks for case ${name} split at every byte offset`, () => {
      for (let offset = 0; offset <= body.length; offset += 1) {
        expect(view(parse(splitAt(body, [offset])))).toEqual(whole);
      }
    });

    it(`gives the same blocks for case ${name} in random 1 to 7 byte pieces`, () => {
      for (let seed = 1; seed <= 20; seed += 1) {
        expect(view(parse(randomPieces(body, seed)))).toEqual(whole);
      }
    });

    it(`keeps every byte of case ${name} in the raw of its blocks`, () => {
      const blocks = parse(randomPieces(body, 7));

      expect(Buffer.concat(blocks.map((block) => block.raw)).equals(body)).toBe(true);
    });
  }
});

describe('sse parser: fields and line ends', () => {
  it('reads event, multi-line data, id and retry', () => {
    const blocks = parse([Buffer.from('event: add\ndata: a\ndata:b\ndata\nid: 7\nretry: 300\n\n')]);

    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatchObject({
      event: 'add',
      data: 'a\nb\n',
      hasData: true,
      id: '7',
      retry: 300,
      terminated: true,
    });
  });

  it('treats crlf, lone cr and lf alike', () => {
    const blocks = parse([Buffer.from('data: a\r\n\r\ndata: b\r\rdata: c\n\n')]);

    expect(blocks.map((block) => block.data)).toEqual(['a', 'b', 'c']);
    expect(blocks.map((block) => block.raw.toString())).toEqual([
      'data: a\r\n\r\n',
      'data: b\r\r',
      'data: c\n\n',
    ]);
  });

  it('does not take a chunk ending on cr as a blank line when the next starts with lf', () => {
    const pieces = ['data: a\r', '\ndata: b\r\n\r', '\n'].map((text) => Buffer.from(text));

    const blocks = parse(pieces);

    expect(blocks).toHaveLength(1);
    expect(blocks[0]?.data).toBe('a\nb');
    expect(blocks[0]?.raw.toString()).toBe('data: a\r\ndata: b\r\n\r\n');
  });

  it('keeps comments apart from data and emits comment-only blocks for forwarding', () => {
    const blocks = parse([Buffer.from(': keep-alive\n\n:x\ndata: {}\n\n')]);

    expect(blocks.map((block) => [block.comments, block.hasData, block.data])).toEqual([
      [[' keep-alive'], false, ''],
      [['x'], true, '{}'],
    ]);
  });

  it('strips a leading bom from the first field only, even when split across chunks', () => {
    const body = Buffer.from('\uFEFFdata: x\n\n\uFEFFdata: y\n\n');

    const blocks = parse([body.subarray(0, 1), body.subarray(1, 2), body.subarray(2)]);

    expect(blocks.map((block) => block.data)).toEqual(['x', '']);
    expect(blocks[0]?.raw.subarray(0, 3).toString('hex')).toBe('efbbbf');
  });

  it('decodes a utf-8 character split between chunks once', () => {
    const body = Buffer.from('data: \u20ac\u{1F600}\n\n');

    const blocks = parse([body.subarray(0, 7), body.subarray(7, 12), body.subarray(12)]);

    expect(blocks[0]?.data).toBe('\u20ac\u{1F600}');
  });

  it('emits stray blank lines as empty blocks so their bytes are forwarded', () => {
    const blocks = parse([Buffer.from('\n\ndata: a\n\n\n')]);

    expect(blocks.map((block) => [block.raw.toString(), block.hasData])).toEqual([
      ['\n', false],
      ['\n', false],
      ['data: a\n\n', true],
      ['\n', false],
    ]);
  });

  it('ignores an id containing nul and a retry that is not all digits', () => {
    const blocks = parse([Buffer.from('id: a\0b\nretry: 1s\ndata: x\n\n')]);

    expect(blocks[0]).toMatchObject({ id: null, retry: null, data: 'x' });
  });
});

describe('sse parser: end of body', () => {
  it('returns null when the body ended on a blank line', () => {
    const parser = new SseParser();
    parser.push(Buffer.from('data: a\n\n'));

    expect(parser.end()).toBeNull();
  });

  it('returns a last event that ends in one lf as unterminated and closes it with one lf', () => {
    const blocks = parse([Buffer.from(cases.CASE_17A)]);
    const last = blocks[blocks.length - 1] as SseBlock;

    expect(blocks).toHaveLength(3);
    expect(last.terminated).toBe(false);
    expect(last.data.endsWith('"total_tokens":2500}}')).toBe(true);
    expect(terminatedRaw(last).toString().endsWith('"total_tokens":2500}}\n\n')).toBe(true);
  });

  it('returns a last event with no line end at all and closes it with two lf', () => {
    const blocks = parse([Buffer.from(cases.CASE_17B)]);
    const last = blocks[blocks.length - 1] as SseBlock;

    expect(last.raw.toString().endsWith('}}')).toBe(true);
    expect(terminatedRaw(last).toString().endsWith('}}\n\n')).toBe(true);
  });

  it('closes a last line that ended on a lone cr without merging it into crlf', () => {
    const blocks = parse([Buffer.from('data: a\r')]);

    expect(terminatedRaw(blocks[0] as SseBlock).toString()).toBe('data: a\r\n\n');
  });

  it('returns a block held on a final cr blank line as terminated', () => {
    const blocks = parse([Buffer.from('data: a\r\r')]);

    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatchObject({ data: 'a', terminated: true });
  });

  it('hands back a truncated json fragment as unterminated data, not as an event', () => {
    const blocks = parse([Buffer.from(cases.CASE_17D)]);
    const last = blocks[blocks.length - 1] as SseBlock;

    expect(blocks).toHaveLength(3);
    expect(last.terminated).toBe(false);
    expect(last.data.endsWith('"usage":{"prompt_tok')).toBe(true);
  });
});

describe('sse parser: linear time', () => {
  it('parses a four megabyte event fed in 16 byte pieces', () => {
    const body = Buffer.from(`data: ${'x'.repeat(4 * 1024 * 1024)}\n\n`);
    const parser = new SseParser();

    const blocks: SseBlock[] = [];
    for (let at = 0; at < body.length; at += 16) {
      blocks.push(...parser.push(body.subarray(at, at + 16)));
    }

    expect(blocks).toHaveLength(1);
    expect(blocks[0]?.data.length).toBe(4 * 1024 * 1024);
  });
});

describe('SseParser.atBoundary', () => {
  it('tells whether a pushed chunk was exactly whole blocks', () => {
    const parser = new SseParser();
    expect(parser.atBoundary()).toBe(true);
    parser.push(Buffer.from('data: a\n\ndata: b\n\n'));
    expect(parser.atBoundary()).toBe(true);
    parser.push(Buffer.from('data: c\n'));
    expect(parser.atBoundary()).toBe(false);
    parser.push(Buffer.from('\n'));
    expect(parser.atBoundary()).toBe(true);
    // A CR at the end of a read may be followed by an LF that belongs to the same blank line.
    parser.push(Buffer.from('data: d\r\n\r'));
    expect(parser.atBoundary()).toBe(false);
    parser.push(Buffer.from('\n'));
    expect(parser.atBoundary()).toBe(true);
  });
});
