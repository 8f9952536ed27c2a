import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter as Splitter, LineTooLong } from '../../../daemon/session/framing.js';

/** The splitter with a handler that collects lines, as text; push returns the lines that chunk completed. */
class LineSplitter {
  readonly lines: string[] = [];
  readonly #splitter: Splitter;
  constructor(maxBytes: number) {
    this.#splitter = new Splitter({ maxBytes }, { line: (line) => this.lines.push(line.toString()) });
  }
  push(chunk: Buffer): string[] {
    const before = this.lines.length;
    this.#splitter.push(chunk);
    return this.lines.slice(before);
  }
}

const tooLong = (maxBytes: number) => (error: unknown) =>
  error instanceof LineTooLong && error.maxBytes === maxBytes && error.message === `a message longer than ${maxBytes} bytes`;

describe('newline-delimited framing', () => {
  it('joins a line split across chunks, drops CR and blank lines', () => {
    const splitter = new LineSplitter(100);
    assert.deepEqual(splitter.push(Buffer.from('{"a":')), []);
    assert.deepEqual(splitter.push(Buffer.from('1}\r\n\n{"b":2}\n{"c"')), ['{"a":1}', '{"b":2}']);
    assert.deepEqual(splitter.push(Buffer.from(':3}\n')), ['{"c":3}']);
  });

  it('joins a line split over many chunks, one byte at a time', () => {
    const splitter = new LineSplitter(100);
    const lines = [...Buffer.from('{"a":1}\n{"b":2}\n')].flatMap((byte) => splitter.push(Buffer.from([byte])));
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  });

  it('takes CRLF line ends, even with the CR and LF in different chunks', () => {
    const splitter = new LineSplitter(100);
    assert.deepEqual(splitter.push(Buffer.from('{"a":1}\r\n{"b":2}\r')), ['{"a":1}']);
    assert.deepEqual(splitter.push(Buffer.from('\n')), ['{"b":2}']);
  });

  it('drops empty and whitespace-only lines', () => {
    const splitter = new LineSplitter(100);
    assert.deepEqual(splitter.push(Buffer.from('\n\r\n   \n\t\n{"a":1}\n\n')), ['{"a":1}']);
    assert.deepEqual(splitter.push(Buffer.from('')), []);
  });

  it('keeps a multi-byte character split between chunks whole', () => {
    const bytes = Buffer.from('"é☃"\n');
    const splitter = new LineSplitter(100);
    assert.deepEqual([...splitter.push(bytes.subarray(0, 2)), ...splitter.push(bytes.subarray(2))], ['"é☃"']);
  });

  it('keeps a four-byte character whole wherever the chunk boundary falls in it', () => {
    const text = '{"emoji":"😀"}';
    const bytes = Buffer.from(`${text}\n`);
    const start = bytes.indexOf(Buffer.from('😀'));
    for (let cut = start + 1; cut < start + 4; cut++) {
      const splitter = new LineSplitter(100);
      assert.deepEqual([...splitter.push(bytes.subarray(0, cut)), ...splitter.push(bytes.subarray(cut))], [text], `cut at byte ${cut}`);
    }
  });

  it('takes a line of exactly the limit, and refuses one byte more', () => {
    assert.deepEqual(new LineSplitter(8).push(Buffer.from('12345678\n')), ['12345678']);
    const splitter = new LineSplitter(8);
    splitter.push(Buffer.from('12345'));
    assert.throws(() => splitter.push(Buffer.from('6789')), tooLong(8));
  });

  it('counts the limit per line, not per chunk', () => {
    const splitter = new LineSplitter(8);
    assert.deepEqual(splitter.push(Buffer.from('12345678\n12345678\n1234')), ['12345678', '12345678']);
    assert.deepEqual(splitter.push(Buffer.from('5678\n')), ['12345678']);
  });

  it('counts the limit in bytes, not characters', () => {
    assert.deepEqual(new LineSplitter(8).push(Buffer.from('éééé\n')), ['éééé'], '4 characters, 8 bytes');
    assert.throws(() => new LineSplitter(8).push(Buffer.from('ééééé\n')), tooLong(8), '5 characters, 10 bytes');
  });

  it('refuses an over-long line before its end arrives, so memory stays bounded', () => {
    const splitter = new LineSplitter(1024);
    assert.throws(() => splitter.push(Buffer.alloc(4096, 'x')), tooLong(1024));
  });
});
