/**
 * `mcpd run NAME` on a stream session (`&stream=1`, daemon/protocol.ts), against a stand-in
 * daemon that speaks streams (test/helpers/fake-daemon.ts): mcpd run passes its stdin's bytes on
 * untouched and its session's text to stdout untouched, so the daemon alone reads messages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { fakeDaemon } from '../helpers/fake-daemon.js';
import { cliMain } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

describe('mcpd run: a stream session', () => {
  let s: Sandbox;
  before(async () => { s = await sandbox(); });
  after(() => s.cleanup());

  it('stdin reaches the daemon as written (bad UTF-8, CRLF, a last line without its end), then one empty message; the daemon\'s text reaches stdout as sent', async () => {
    const stdin = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\r\n{"a":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}\n{"unterminated":')]);
    const replies = ['{"jsonrpc":"2.0","id":1,', '"result":{}}\n{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"é"}}\n'];
    const received: Array<Buffer | 'text'> = [];
    const daemon = await fakeDaemon(s.env.MCPD_SOCKET!, {
      stream: true,
      session: (ws) => ws.on('message', (data: Buffer, isBinary) => {
        received.push(isBinary ? data : 'text');
        if (!isBinary || data.length > 0) return;
        for (const text of replies) ws.send(text);
        ws.close(1000, 'stdin closed');
      }),
    });
    try {
      const run = await execa(process.execPath, [cliMain, 'run', 'x'], { env: s.env, extendEnv: false, input: stdin, reject: false, encoding: 'buffer', stripFinalNewline: false });
      assert.equal(run.exitCode, 0, Buffer.from(run.stderr).toString());
      assert.equal(daemon.sessions[0]?.searchParams.get('stream'), '1');
      assert.ok(!received.includes('text'), 'mcpd run sent a text message on a stream');
      const [last, ...rest] = (received as Buffer[]).reverse();
      assert.equal(last!.length, 0, 'the input did not end with an empty message');
      assert.deepEqual(Buffer.concat(rest.reverse()), stdin);
      assert.deepEqual(Buffer.from(run.stdout), Buffer.from(replies.join('')));
    } finally {
      await daemon.close();
    }
  });
});
