import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUtf8 } from 'node:buffer';
import { LineSplitter as Splitter, LineTooLong, Utf8Parts, wellFormed } from '../../../daemon/session/framing.js';

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

/** A splitter that streams lines from `streamFrom` bytes: records lines, parts and ends in order. */
function streaming(streamFrom: number, take: (head: string) => boolean = () => true, maxBytes = 1 << 20) {
  const events: string[] = [];
  const streamed: Buffer[][] = [];
  const splitter = new Splitter({ maxBytes, streamFrom }, {
    line: (line) => events.push(`line ${line.toString()}`),
    long: (head) => {
      if (!take(head.toString())) return undefined;
      const parts: Buffer[] = [];
      streamed.push(parts);
      events.push('long');
      return {
        part: (bytes) => parts.push(Buffer.from(bytes)),
        end: (complete) => events.push(`end ${complete} ${Buffer.concat(parts).toString()}`),
      };
    },
  });
  return { splitter, events, streamed };
}

describe('newline-delimited framing: long lines passed on as they arrive', () => {
  const long = `{"id":1,"result":"${'x'.repeat(40_000)}"}`;

  it('passes a long line on in parts, in order with the lines around it, at every chunk boundary', () => {
    const bytes = Buffer.from(`{"a":1}\n${long}\r\n{"b":2}\n`);
    for (const size of [1, 7, 1000, 16 * 1024, 20_000]) {
      const t = streaming(100);
      for (let at = 0; at < bytes.length; at += size) t.splitter.push(bytes.subarray(at, at + size));
      assert.deepEqual(t.events, ['line {"a":1}', 'long', `end true ${long}\r`, 'line {"b":2}'], `chunks of ${size}`);
      const parts = t.streamed[0]!;
      assert.ok(parts.every((p, i) => p.length >= 100 || i === parts.length - 1 || i === 0), 'parts are not split finer than the chunks');
    }
  });

  it('passes parts on once 16 KiB are in hand, not one per tiny chunk', () => {
    const t = streaming(10);
    for (const byte of Buffer.from(`${long}\n`)) t.splitter.push(Buffer.from([byte]));
    const parts = t.streamed[0]!;
    assert.equal(Buffer.concat(parts).toString(), long);
    assert.ok(parts.length <= Math.ceil(long.length / (16 * 1024)) + 2, `${parts.length} parts`);
  });

  it('a line that arrives whole in one chunk is delivered whole, however long', () => {
    const t = streaming(100);
    t.splitter.push(Buffer.from(`${long}\n`));
    assert.deepEqual(t.events, [`line ${long}`]);
  });

  it('a line the handler does not take is buffered and delivered whole', () => {
    const t = streaming(100, () => false);
    const bytes = Buffer.from(`${long}\n{"b":2}\n`);
    for (let at = 0; at < bytes.length; at += 4096) t.splitter.push(bytes.subarray(at, at + 4096));
    assert.deepEqual(t.events, [`line ${long}`, 'line {"b":2}']);
  });

  it('asks once per line, and again for the next long line', () => {
    let asked = 0;
    const t = streaming(100, () => (asked++, false));
    t.splitter.push(Buffer.from(long.slice(0, 200)));
    t.splitter.push(Buffer.from(long.slice(200, 300)));
    t.splitter.push(Buffer.from(`${long.slice(300)}\n${long.slice(0, 200)}`));
    assert.equal(asked, 2);
  });

  it('abort() ends a line being passed on as cut off, and drops a buffered one', () => {
    const t = streaming(100);
    t.splitter.push(Buffer.from(long.slice(0, 30_000)));
    t.splitter.abort();
    assert.deepEqual(t.events, ['long', `end false ${long.slice(0, 30_000)}`]);
    t.splitter.push(Buffer.from('{"c":3}\n'));
    assert.deepEqual(t.events.at(-1), 'line {"c":3}', 'the next line starts afresh');
    const u = streaming(100, () => false);
    u.splitter.push(Buffer.from(long.slice(0, 300)));
    u.splitter.abort();
    u.splitter.push(Buffer.from('{"c":3}\n'));
    assert.deepEqual(u.events, ['line {"c":3}']);
  });

  it('counts the size limit over the parts already passed on', () => {
    const t = streaming(100, () => true, 1000);
    t.splitter.push(Buffer.alloc(600, 'x'));
    assert.throws(() => t.splitter.push(Buffer.alloc(600, 'x')), tooLong(1000));
  });
});

describe('UTF-8 of streamed parts', () => {
  it('cuts parts at character boundaries wherever the chunks split the bytes', () => {
    const text = 'aé☃😀b'.repeat(3);
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (let cut2 = cut; cut2 <= bytes.length; cut2++) {
        const utf8 = new Utf8Parts();
        const parts = [utf8.take(bytes.subarray(0, cut)), utf8.take(bytes.subarray(cut, cut2)), utf8.take(bytes.subarray(cut2)), utf8.flush()];
        assert.ok(parts.every((p) => isUtf8(p)), `cuts ${cut}, ${cut2}`);
        assert.equal(Buffer.concat(parts).toString(), text);
      }
    }
  });

  it('repairs bad sequences as decoding would, and ends a cut-off character as U+FFFD', () => {
    const bad = Buffer.from([0x61, 0xff, 0x62, 0xc3]);
    const utf8 = new Utf8Parts();
    assert.equal(Buffer.concat([utf8.take(bad), utf8.flush()]).toString(), bad.toString());
    assert.equal(wellFormed(bad).toString(), 'a\uFFFDb\uFFFD');
    const good = Buffer.from('é');
    assert.equal(wellFormed(good), good, 'valid bytes are passed on as they are, not copied');
  });
});
