/**
 * A stream session's input (`&stream=1`): the client's stdin in binary messages cut anywhere,
 * split by the daemon into the lines its Session reads, as a stdio server would read them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { streamInput } from '../../../daemon/server/stream-input.js';

function harness(maxBytes = 1 << 20) {
  const lines: string[] = [];
  const closed: Array<{ code: number; reason: string }> = [];
  const notes: string[] = [];
  const ended: Array<[number?, string?]> = [];
  const session = { id: 's1', server: 'srv', fromClient: (line: Buffer | string) => void lines.push(line.toString()), inputEnded: (code?: number, reason?: string) => void ended.push([code, reason]) };
  const input = streamInput(session, maxBytes, { close: (code, reason) => void closed.push({ code, reason }), note: (event) => void notes.push(event) });
  return { input, lines, closed, notes, ended };
}

/** `bytes` cut at `cuts` (positions, any order, repeats allowed). */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to > from) parts.push(bytes.subarray(from, to));
    from = to;
  }
  return parts;
}

describe('stream session input', () => {
  it('passes on every line whole and in order, however the client\'s reads cut its stdin', () => {
    const message = fc.record({ id: fc.oneof(fc.integer(), fc.string()), method: fc.string(), params: fc.dictionary(fc.string(), fc.jsonValue()) });
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (messages, cuts, crlf) => {
      const h = harness();
      const sent = messages.map((m) => JSON.stringify({ jsonrpc: '2.0', ...m }));
      const stdin = Buffer.from(sent.map((line) => `${line}${crlf ? '\r\n' : '\n'}`).join(''));
      for (const part of cut(stdin, cuts)) h.input(part, true);
      assert.deepEqual(h.lines, sent);
      assert.deepEqual([h.closed, h.ended], [[], []]);
    }));
  });

  it('an empty binary message ends the input once: the session is told, and nothing after it is read', () => {
    const h = harness();
    h.input(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,'), true);
    h.input(Buffer.alloc(0), true);
    h.input(Buffer.from('"method":"ping"}\n'), true);
    h.input(Buffer.alloc(0), true);
    assert.deepEqual(h.ended, [[undefined, undefined]], 'told once, as a plain end');
    assert.deepEqual(h.lines, ['{"jsonrpc":"2.0","id":1,"method":"ping"}'], 'a last line without its newline is not a message');
  });

  it('a text message closes the session with 1003 and says how a stream sends its input', () => {
    const h = harness();
    h.input(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}'), false);
    h.input(Buffer.from('{"jsonrpc":"2.0","id":2,"method":"ping"}\n'), true);
    assert.deepEqual(h.closed, [{ code: 1003, reason: 'a stream session takes its input as binary messages: the bytes of stdin, cut anywhere' }]);
    assert.deepEqual(h.lines, []);
    assert.deepEqual(h.notes, ['session.refused-text']);
  });

  it('a line over the limit ends the input there, to close with 1009 naming the limit and its setting; the lines before it pass', () => {
    const h = harness(64);
    h.input(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"'), true);
    h.input(Buffer.from(`${'x'.repeat(64)}"}\n`), true);
    h.input(Buffer.from('{"jsonrpc":"2.0","id":3,"method":"ping"}\n'), true);
    assert.deepEqual(h.lines, ['{"jsonrpc":"2.0","id":1,"method":"ping"}']);
    assert.deepEqual(h.ended, [[1009, 'a message on stdin is longer than 64 bytes (daemon.maxMessageBytes)']]);
    assert.deepEqual(h.closed, []);
    assert.deepEqual(h.notes, ['session.message-too-big']);
  });
});
