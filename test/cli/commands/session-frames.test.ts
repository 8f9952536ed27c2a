/**
 * The CLI's frame reader: data frames read as they arrive, split anywhere between chunks;
 * control frames and anything unexpected handed to ws's receiver as the bytes they came in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameReader } from '../../../cli/commands/session-frames.js';

/** A server-to-client frame (unmasked), as RFC 6455 lays it out. */
function frame(opcode: number, payload: Buffer | string, fin = true, extra = 0): Buffer {
  const data = Buffer.from(payload);
  const first = (fin ? 0x80 : 0) | extra | opcode;
  if (data.length < 126) return Buffer.concat([Buffer.from([first, data.length]), data]);
  if (data.length < 65536) {
    const header = Buffer.from([first, 126, 0, 0]);
    header.writeUInt16BE(data.length, 2);
    return Buffer.concat([header, data]);
  }
  const header = Buffer.alloc(10);
  header[0] = first;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(data.length), 2);
  return Buffer.concat([header, data]);
}

function reader() {
  const events: string[] = [];
  const texts: Buffer[] = [];
  const toWs: Buffer[] = [];
  const r = new FrameReader({
    text: (part, first, last) => {
      if (first) texts.length = 0;
      texts.push(Buffer.from(part));
      if (last) events.push(`text ${Buffer.concat(texts).toString()}`);
    },
    binary: (message) => events.push(`binary ${message.toString()}`),
  }, (bytes) => toWs.push(Buffer.from(bytes)));
  return { r, events, toWs };
}

const long = 'y'.repeat(70_000);
const stream = Buffer.concat([
  frame(1, '{"id":1}'),
  frame(2, 'stderr line\n'),
  frame(1, '{"id":2,', false), frame(9, 'ping!'), frame(0, '"result":', false), frame(0, '', false), frame(0, '{}}'),
  frame(1, `"${'x'.repeat(300)}"`),
  frame(1, `"${long}"`),
  frame(2, 'two ', false), frame(0, 'parts'),
  frame(1, ''),
  frame(8, Buffer.from([0x03, 0xe8])),
]);
const expected = ['text {"id":1}', 'binary stderr line\n', 'text {"id":2,"result":{}}', `text "${'x'.repeat(300)}"`, `text "${long}"`, 'binary two parts', 'text '];

describe('the CLI\'s frame reader', () => {
  it('reads every message, whatever the chunks, and hands ping and close to ws whole', () => {
    for (let cut = 0; cut <= 400; cut++) {
      const { r, events, toWs } = reader();
      r.push(stream.subarray(0, cut));
      r.push(stream.subarray(cut));
      assert.deepEqual(events, expected, `cut at ${cut}`);
      assert.deepEqual(Buffer.concat(toWs), Buffer.concat([frame(9, 'ping!'), frame(8, Buffer.from([0x03, 0xe8]))]), `cut at ${cut}`);
    }
  });

  it('reads a stream fed one byte at a time', () => {
    const { r, events } = reader();
    for (const byte of stream) r.push(Buffer.from([byte]));
    assert.deepEqual(events, expected);
  });

  it('passes a long text message on in parts as they arrive, before its end', () => {
    const parts: Array<[number, boolean, boolean]> = [];
    const r = new FrameReader({ text: (part, first, last) => parts.push([part.length, first, last]), binary: () => {} }, () => {});
    const bytes = frame(1, long);
    r.push(bytes.subarray(0, 30_000));
    assert.deepEqual(parts, [[30_000 - 10, true, false]], "a 10-byte header, then the first part");
    r.push(bytes.subarray(30_000));
    assert.deepEqual(parts.at(-1), [bytes.length - 30_000, false, true]);
  });

  it('hands everything to ws from a frame it does not expect on (reserved bits, a masked frame, a stray continuation)', () => {
    const masked = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x7a, 0x7b]);
    for (const bad of [frame(1, 'x', true, 0x40), masked, frame(0, 'x'), frame(3, 'x')]) {
      const { r, events, toWs } = reader();
      r.push(Buffer.concat([frame(1, 'a'), bad, frame(1, 'b')]));
      assert.deepEqual(events, ['text a']);
      assert.deepEqual(Buffer.concat(toWs), Buffer.concat([bad, frame(1, 'b')]));
    }
  });
});
