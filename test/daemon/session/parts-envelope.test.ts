/**
 * PartsEnvelope against readEnvelope of the whole message: however a message is cut into parts,
 * the envelope read as the parts go by is the one the whole would give, and what it keeps of a
 * long message is small.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope } from '../../../daemon/session/envelope.js';
import { PartsEnvelope } from '../../../daemon/session/parts-envelope.js';

/** The envelope PartsEnvelope reads from `text` cut at `cuts` (byte offsets, ascending). */
function inParts(text: string | Buffer, cuts: number[]) {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const reader = new PartsEnvelope();
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    reader.push(bytes.subarray(from, cut));
    from = cut;
  }
  return reader.envelope();
}

const x = (n: number) => 'x'.repeat(n);
const MESSAGES = [
  '{"jsonrpc":"2.0","id":1,"result":{}}',
  '{"result":{"content":[{"type":"text","text":"hi"}]},"jsonrpc":"2.0","id":2}',
  '{"result":{"content":[{"type":"text","text":"{\\"id\\":9,\\"isError\\":true}"}],"isError":true},"jsonrpc":"2.0","id":"a\\"b"}',
  '{"result":{"isError":true,"content":[[[{"a":"]}"}]]]},"id":3}',
  '{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"m","data":{"isError":false,"x":[1,2,{"y":"\\\\"}]}}}',
  '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"\\\\\\"}"}}',
  '{"jsonrpc":"2.0","method":"sampling/createMessage","params":{"messages":[]},"id":"s1"}',
  ' { "id" : 5 , "result" : { "isError" : true , "content" : [ ] } } ',
  '{"id":6,"result":{"is\\u0045rror":true}}',
  '{"id":7,"result":[{"isError":true}]}',
  '{"id":{"x":1},"result":{}}', // an id JSON-RPC does not allow: unsure either way
  '[{"id":1}]',
  `{"result":{"content":[{"type":"text","text":"${x(3000)}"}],"structuredContent":{"k":"${x(2000)}"},"note":"${x(1500)}","isError":true},"jsonrpc":"2.0","id":8}`,
  `{"jsonrpc":"2.0","id":"${x(1500)}","method":"${x(1200)}","params":{"p":"${x(1100)}"}}`,
  `{"id":9,"result":{"text":"${'\\\\'.repeat(700)}\\"${'\\\\'.repeat(701)}"}}`,
];

describe('PartsEnvelope', () => {
  it('reads what readEnvelope reads from the whole, at every single cut of a message', () => {
    for (const text of MESSAGES) {
      const whole = readEnvelope(Buffer.from(text));
      assert.deepEqual(inParts(text, []), whole, text.slice(0, 60));
      for (let cut = 0; cut <= Buffer.byteLength(text); cut++) assert.deepEqual(inParts(text, [cut]), whole, `${text.slice(0, 60)}… cut at ${cut}`);
    }
  });

  it('reads the same from a message cut a byte at a time, and in random parts', () => {
    let seed = 7;
    const random = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (const text of MESSAGES) {
      const length = Buffer.byteLength(text);
      const whole = readEnvelope(Buffer.from(text));
      assert.deepEqual(inParts(text, Array.from({ length: length - 1 }, (_, i) => i + 1)), whole, `${text.slice(0, 60)}… byte by byte`);
      for (let round = 0; round < 50; round++) {
        const cuts = [...new Set(Array.from({ length: 1 + random(8) }, () => random(length)))].sort((a, b) => a - b);
        assert.deepEqual(inParts(text, cuts), whole, `${text.slice(0, 60)}… cut at ${cuts.join(',')}`);
      }
    }
  });

  it('escapes are read across parts: a run of backslashes cut anywhere still says whether the quote after it closes the string', () => {
    for (let run = 0; run <= 6; run++) {
      // run backslashes then a quote: escaped when run is odd, so the string goes on to the real end.
      const text = `{"id":1,"result":{"text":"a${'\\'.repeat(run)}"${run % 2 === 1 ? 'b"' : ''},"isError":true}}`;
      const whole = readEnvelope(Buffer.from(text));
      assert.ok(whole, text);
      for (let cut = 0; cut <= text.length; cut++) {
        for (let second = cut; second <= text.length; second++) assert.deepEqual(inParts(text, [cut, second]), whole, `${text} cut at ${cut},${second}`);
      }
    }
  });

  it('keeps a few hundred bytes of a 10 MiB tool result, whichever side of it the id is on', () => {
    const text = `{"result":{"content":[{"type":"text","text":"${x(10 * 2 ** 20)}"}],"isError":true},"jsonrpc":"2.0","id":42}`;
    const reader = new PartsEnvelope();
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += 64 * 1024) reader.push(bytes.subarray(at, at + 64 * 1024));
    assert.deepEqual(reader.envelope(), { id: 42, method: undefined, response: true, outcome: 'tool-error' });
    assert.ok(reader.keptBytes < 200, `${reader.keptBytes} bytes kept`);
  });
});
