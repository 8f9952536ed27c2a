/**
 * `mcpd run NAME` reading the daemon's notices (`?stderr=1&notices=1`): the real command against
 * a stand-in daemon (test/helpers/fake-daemon.ts) whose session sends the server's stderr after
 * a 0x00 byte and an authorize notice after 0x01; the browser is a real $BROWSER command that
 * records what it was given. stdout carries the MCP answer and nothing else.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import type { WebSocket } from 'ws';
import { binaryMessages, KIND } from '../../cli/commands/session-notices.js';
import { fakeDaemon, type FakeDaemon } from '../helpers/fake-daemon.js';
import { waitFor } from '../helpers/daemon.js';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const SIGN_IN = 'https://as.example/authorize?response_type=code&client_id=mcpd&state=a;b&redirect_uri=http%3A%2F%2F127.0.0.1%3A8085%2Fcallback&code_challenge=x$(y)';
const REQUEST = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n';
const ANSWER = '{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}';
const CLIENT_TOKEN = 'mcpd-client-token-for-run-notices';

const frame = (kind: number, body: string | Buffer) => Buffer.concat([Buffer.from([kind]), Buffer.from(body)]);

describe('mcpd run: the daemon\'s notices', () => {
  let s: Sandbox;
  let daemon: FakeDaemon | undefined;
  let record: string;
  let n = 0;
  const started = async () => (await readFile(record, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { argv: string[]; env: Record<string, string> });

  /**
   * The stand-in daemon's session: `sends` on connection, then the answer to the request once
   * the browser has been started (as a real server answers once the user has signed in) or,
   * when none is expected, a moment later.
   */
  const serve = async (sends: (ws: WebSocket) => void, expectBrowser: boolean, notices = true) => {
    daemon = await fakeDaemon(s.env.MCPD_SOCKET!, {
      notices,
      session: (ws) => {
        sends(ws);
        ws.once('message', () => void (async () => {
          if (expectBrowser) await waitFor(async () => (await started()).length > 0, 'the browser to start');
          else await new Promise((resolve) => setTimeout(resolve, 300));
          ws.send(ANSWER);
        })());
      },
    });
  };
  const run = (args: string[], env: Record<string, string>) => s.cli(['run', ...args, 'linear'], { input: REQUEST, env: { MCPD_TEST_BROWSER_RECORD: record, MCPD_TOKEN: CLIENT_TOKEN, ...env } });

  before(async () => { s = await sandbox(); });
  after(async () => {
    await daemon?.close();
    await s.cleanup();
  });
  beforeEach(async () => {
    await daemon?.close();
    daemon = undefined;
    record = join(s.dir, `browser-${++n}`);
  });

  it('prints the server\'s stderr and opens the browser with the notified URL; stdout is the MCP answer alone', async () => {
    await serve((ws) => {
      ws.send(frame(KIND.stderr, 'server says hello\n'));
      // A notice in two fragments: the kind byte is read from the whole message.
      const notice = frame(KIND.notice, JSON.stringify({ type: 'authorize', server: 'linear', url: SIGN_IN }));
      ws.send(notice.subarray(0, 9), { binary: true, fin: false });
      ws.send(notice.subarray(9), { binary: true, fin: true });
    }, true);
    const result = await run([], { BROWSER: fixture('browser-record.js') });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `${ANSWER}\n`);
    assert.equal(daemon!.sessions[0]?.search, '?stderr=1&notices=1&stream=1');
    assert.match(result.stderr, /^server says hello\n/);
    assert.ok(result.stderr.includes(`mcpd: server "linear" needs you to sign in; opening your browser (if it does not open, visit: ${SIGN_IN})\n`), result.stderr);
    const [browser] = await started();
    assert.deepEqual(browser?.argv, [SIGN_IN]);
    assert.equal(browser?.env.MCPD_TOKEN, undefined, 'the CLI\'s client token reached the browser');
    assert.ok(!JSON.stringify(browser).includes(CLIENT_TOKEN));
  });

  it('--no-browser, or no browser to open: the address and mcpd auth login on stderr, nothing opened', async () => {
    const notice = (ws: WebSocket) => ws.send(frame(KIND.notice, JSON.stringify({ type: 'authorize', server: 'linear', url: SIGN_IN })));
    const manual = `mcpd: server "linear" needs you to sign in: open ${SIGN_IN}, or run mcpd auth login linear\n`;
    await serve(notice, false);
    const flagged = await run(['--no-browser'], { BROWSER: fixture('browser-record.js') });
    assert.equal(flagged.exitCode, 0, flagged.stderr);
    assert.equal(flagged.stdout, `${ANSWER}\n`);
    assert.equal(flagged.stderr, manual);
    await daemon!.close();
    // Over SSH: no $BROWSER, no display.
    await serve(notice, false);
    const headless = await run([], {});
    assert.equal(headless.stderr, manual);
    assert.deepEqual(await started(), []);
  });

  it('a server\'s stderr that looks like a notice is printed, never opened', async () => {
    const lookalike = frame(KIND.notice, JSON.stringify({ type: 'authorize', server: 'linear', url: SIGN_IN }));
    await serve((ws) => ws.send(frame(KIND.stderr, lookalike)), false);
    const result = await run([], { BROWSER: fixture('browser-record.js') });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stderr, lookalike.toString());
    assert.deepEqual(await started(), []);
  });

  it('a daemon whose 101 does not confirm notices (one from before them): its raw stderr is printed, even bytes that look like a notice, never opened', async () => {
    const lookalike = frame(KIND.notice, JSON.stringify({ type: 'authorize', server: 'linear', url: SIGN_IN }));
    await serve((ws) => ws.send(lookalike), false, false);
    const result = await run([], { BROWSER: fixture('browser-record.js') });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stderr, lookalike.toString());
    assert.deepEqual(await started(), []);
  });

  it('any stderr bytes, whatever they begin with, come out as they went in (property)', () => {
    const { stream: stderr, written: out } = collector();
    const handle = binaryMessages({ name: 'x', browser: true, env: { BROWSER: fixture('browser-record.js'), MCPD_TEST_BROWSER_RECORD: record }, stderr });
    const notice = Buffer.from(JSON.stringify({ type: 'authorize', server: 'x', url: SIGN_IN }));
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }).map((tail) => Buffer.concat([Buffer.from([KIND.notice]), notice, tail])));
    fc.assert(fc.property(bytes, (raw) => {
      out.length = 0;
      handle(frame(KIND.stderr, Buffer.from(raw)));
      assert.deepEqual(Buffer.concat(out), Buffer.from(raw));
    }), { numRuns: 500 });
  });

  it('prints a message from a daemon that predates notices (raw stderr) whole', () => {
    const { stream: stderr, written } = collector();
    binaryMessages({ name: 'x', browser: true, env: {}, stderr })(Buffer.from('mini-mcp started\n'));
    assert.equal(Buffer.concat(written).toString(), 'mini-mcp started\n');
  });

  it('opens nothing but an http(s) address, and prints another one quoted', () => {
    const { stream: stderr, written } = collector();
    const handle = binaryMessages({ name: 'x', browser: true, env: { BROWSER: fixture('browser-record.js'), MCPD_TEST_BROWSER_RECORD: record }, stderr });
    handle(frame(KIND.notice, JSON.stringify({ type: 'authorize', server: 'x', url: 'file:///etc/passwd\u001b[2J' })));
    assert.equal(Buffer.concat(written).toString(), 'mcpd: server "x" sent a sign-in address that is not an http(s) URL, so it was not opened: "file:///etc/passwd\\u001b[2J"\n');
  });
});

/** A stderr that keeps what is written to it, as it is written. */
function collector(): { stream: NodeJS.WritableStream; written: Buffer[] } {
  const written: Buffer[] = [];
  const stream = { write: (bytes: Buffer | string) => written.push(Buffer.from(bytes)) > 0 } as unknown as NodeJS.WritableStream;
  return { stream, written };
}
