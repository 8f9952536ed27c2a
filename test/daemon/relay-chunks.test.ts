/**
 * The relay's two ends in memory, under the chunkings a loaded machine may produce: the
 * daemon's (a server's stdout, cut anywhere → LineSplitter → ServerOutput → WebSocketLink →
 * ws's own frame writer, long lines as fragments) and mcpd run's (those frame bytes, cut
 * anywhere → FrameReader). Every message comes out as the bytes the server wrote it with.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as wsModule from 'ws';
import { WebSocket } from 'ws';
import { FrameReader } from '../../cli/commands/session-frames.js';
import { WebSocketLink } from '../../daemon/server/ws-link.js';
import { LineSplitter } from '../../daemon/session/framing.js';
import { Handshake } from '../../daemon/session/handshake.js';
import { ServerOutput } from '../../daemon/session/server-output.js';
import type { SessionDeps } from '../../daemon/session/session.js';
import { STREAM_FROM } from '../../daemon/supervisor/instance.js';

/** ws's frame writer, which its type declarations leave out: what the daemon's WebSocket writes with. */
interface FrameWriter {
  send(data: Buffer | string, options: { binary: boolean; fin: boolean; mask: boolean; compress: boolean; rsv1: boolean }): void;
}
const { Sender } = wsModule as unknown as { Sender: new (socket: object) => FrameWriter };

/** The daemon's end of a session: what the server writes in, the bytes its WebSocket writes out. */
function daemonEnd(streamFrom: number) {
  const wire: Buffer[] = [];
  const socket = {
    cork() {},
    uncork() {},
    write(bytes: Buffer, done?: () => void) {
      wire.push(Buffer.from(bytes));
      done?.();
      return true;
    },
  };
  const writer = new Sender(socket);
  // The part of a server-side ws that WebSocketLink uses; ws.send adds only these options.
  const ws = {
    readyState: WebSocket.OPEN,
    bufferedAmount: 0,
    send: (data: Buffer | string, options: { binary: boolean; fin?: boolean }) => writer.send(data, { binary: options.binary, fin: options.fin !== false, mask: false, compress: false, rsv1: false }),
  };
  const link = new WebSocketLink({ stderr: true });
  link.attach(ws as unknown as WebSocket);
  const notes: string[] = [];
  const deps = { link, log: (line: string) => notes.push(`log ${line}`), note: (note: string) => notes.push(note) } as unknown as SessionDeps;
  const output = new ServerOutput(deps, {
    handshake: new Handshake(),
    inflight: new Map(),
    serverRequests: new Set(),
    current: () => assert.fail('the server\'s output is never paused here: nothing is buffered toward the client'),
    roll: { replayAnswered() {}, checkIdle() {} },
  });
  const stdout = new LineSplitter({ maxBytes: 64 * 1024 * 1024, streamFrom }, { line: (line) => output.fromServer(line), long: (head) => output.longFromServer(head) });
  return { stdout, stderr: (line: string) => link.sendStderr!(line), wire, notes };
}

/** mcpd run's end: the text and binary messages FrameReader reads from the frame bytes. */
function runEnd() {
  const texts: Buffer[] = [];
  const binaries: Buffer[] = [];
  const toWs: Buffer[] = [];
  let parts: Buffer[] | undefined;
  const reader = new FrameReader({
    text: (part, first, last) => {
      assert.equal(first, parts === undefined, 'first is said of a message\'s first part only');
      parts ??= [];
      parts.push(Buffer.from(part));
      if (!last) return;
      texts.push(Buffer.concat(parts));
      parts = undefined;
    },
    binary: (message) => binaries.push(Buffer.from(message)),
  }, (bytes) => toWs.push(bytes));
  return { reader, texts, binaries, toWs, open: () => parts !== undefined };
}

/** `bytes` cut at `cuts` (positions, in any order). */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [...at, bytes.length].map((end, i) => bytes.subarray(i === 0 ? 0 : at[i - 1], end));
}

const KiB = 1024;
/** Text with one to four UTF-8 bytes a character, so cuts fall inside characters too. */
const piece = fc.string({ unit: 'binary', minLength: 1, maxLength: 8 });
const text = fc.oneof(
  { arbitrary: fc.tuple(piece, fc.nat({ max: 40 })), weight: 2 },
  { arbitrary: fc.tuple(piece, fc.nat({ max: 4 * KiB })), weight: 1 },
  { arbitrary: fc.tuple(piece, fc.integer({ min: 8 * KiB, max: 60 * KiB })), weight: 2 },
).map(([p, times]) => p.repeat(times));
/** A server message as one line: an answer as the MCP SDK writes it (id last), one with its id first, a notification. */
const message = fc.tuple(fc.constantFrom('sdk', 'id-first', 'notification'), fc.oneof(fc.nat(), fc.string({ maxLength: 6 })), text).map(([kind, id, value]) => {
  const result = { content: [{ type: 'text', text: value }] };
  if (kind === 'sdk') return JSON.stringify({ result, jsonrpc: '2.0', id });
  if (kind === 'id-first') return JSON.stringify({ jsonrpc: '2.0', id, result });
  return JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: value } });
});
/** Where a chunking cuts: many cuts (down to single bytes) or a few. */
const cuts = fc.oneof(fc.array(fc.nat(), { maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 20 }));

describe('the relay under random chunkings', () => {
  it('every server line reaches mcpd run as the bytes it was written with, its stderr lines whole, whatever the chunks on either side', () => {
    fc.assert(fc.property(
      fc.array(message, { minLength: 1, maxLength: 6 }),
      fc.oneof(fc.constant(STREAM_FROM), fc.integer({ min: 1, max: STREAM_FROM })),
      cuts,
      fc.array(fc.tuple(fc.nat(), fc.string({ unit: 'binary', maxLength: 200 })), { maxLength: 5 }),
      cuts,
      (lines, streamFrom, stdoutCuts, stderrLines, wireCuts) => {
        const daemon = daemonEnd(streamFrom);
        const chunks = cut(Buffer.from(lines.map((line) => `${line}\n`).join('')), stdoutCuts);
        // stderr lines go out between stdout chunks: one during a long line waits for its last fragment.
        const stderr: string[] = [];
        const stderrAt = (i: number) => {
          for (const [at, line] of stderrLines) {
            if (at % (chunks.length + 1) !== i) continue;
            stderr.push(`${line}\n`);
            daemon.stderr(line);
          }
        };
        chunks.forEach((chunk, i) => {
          stderrAt(i);
          daemon.stdout.push(chunk);
        });
        stderrAt(chunks.length);
        assert.deepEqual(daemon.notes, []);

        const run = runEnd();
        for (const chunk of cut(Buffer.concat(daemon.wire), wireCuts)) run.reader.push(chunk);
        assert.equal(run.open(), false, 'no message is left unfinished');
        assert.deepEqual(run.texts.map((t) => t.toString()), lines);
        assert.deepEqual(Buffer.concat(run.texts), Buffer.from(lines.join('')), 'the bytes, not only the text');
        assert.deepEqual(run.binaries, stderr.map((line) => Buffer.from(line)));
        assert.deepEqual(run.toWs, [], 'no control frame was written');
      },
    ), { numRuns: 100 });
  });
});
