import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter, LineTooLong } from '../../../daemon/session/framing.js';

describe('newline-delimited framing', () => {
  it('joins a line split across chunks, drops CR and blank lines', () => {
    const splitter = new LineSplitter(100);
    assert.deepEqual(splitter.push(Buffer.from('{"a":')), []);
    assert.deepEqual(splitter.push(Buffer.from('1}\r\n\n{"b":2}\n{"c"')), ['{"a":1}', '{"b":2}']);
    assert.deepEqual(splitter.push(Buffer.from(':3}\n')), ['{"c":3}']);
  });

  it('keeps a multi-byte character split between chunks whole', () => {
    const bytes = Buffer.from('"é☃"\n');
    const splitter = new LineSplitter(100);
    assert.deepEqual([...splitter.push(bytes.subarray(0, 2)), ...splitter.push(bytes.subarray(2))], ['"é☃"']);
  });

  it('takes a line of exactly the limit, and refuses one byte more', () => {
    assert.deepEqual(new LineSplitter(8).push(Buffer.from('12345678\n')), ['12345678']);
    const splitter = new LineSplitter(8);
    splitter.push(Buffer.from('12345'));
    assert.throws(() => splitter.push(Buffer.from('6789')), (error: unknown) => error instanceof LineTooLong && error.message === 'a message longer than 8 bytes');
  });
});
