/**
 * A remote server that ends its session (issue 14), end to end: the SDK's Client runs
 * `mcpd run forgetful` (through the daemon) and `mcpd run --no-daemon forgetful` against a
 * Streamable HTTP double that forgets its sessions when told. The host's next message is answered on a new remote session, the
 * handshake replayed to it with the stored token, and the Client never sees an error; a server
 * that refuses the new session, or ends sessions faster than mcpd opens them, ends the session
 * with REMOTE_FAILED saying so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { type ForgetfulMcp, startForgetfulMcp } from '../../doubles/forgetful-mcp.js';
import { cliMain } from '../../helpers/repo.js';
import { type Sandbox, sandbox } from '../../helpers/sandbox.js';
import { filesUnder } from '../../helpers/files.js';

interface Host {
  readonly client: Client;
  /** Errors the Client itself reported (transport, protocol). */
  readonly errors: Error[];
  stderr(): string;
}

async function host(s: Sandbox, args: readonly string[]): Promise<Host> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, ...args], env: s.env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new Client({ name: 'session-lost-host', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  await client.connect(transport);
  return { client, errors, stderr: () => stderr };
}

async function echo(client: Client, message: string): Promise<string> {
  const result = await client.callTool({ name: 'echo', arguments: { message } });
  return JSON.stringify(result.content);
}

/** Resolves once `check` holds (polled every 20 ms), or fails after 10 s naming `what`. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (const started = Date.now(); !check(); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() - started > 10_000) assert.fail(`waited 10 s for ${what}`);
  }
}

describe('a remote server that ends its session', () => {
  let s: Sandbox;
  let double: ForgetfulMcp;
  const token = `fgt-${randomBytes(16).toString('hex')}`;

  before(async () => {
    double = await startForgetfulMcp();
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { forgetful: { url: double.url, headers: { Authorization: 'Bearer ${local:forgetful/token}' } } },
      providers: { local: { type: 'local', key: 'file' } },
    });
    assert.equal((await s.cli(['secret', 'set', 'local:forgetful/token'], { input: token })).exitCode, 0);
  });
  after(async () => {
    await s.cleanup();
    await double.stop();
  });

  for (const args of [['run', 'forgetful'], ['run', '--no-daemon', 'forgetful']]) {
    const daemon = !args.includes('--no-daemon');

    it(`the host's next call is answered on a new remote session, the handshake replayed; the Client sees no error (mcpd ${args.join(' ')})`, async () => {
      const { client, errors, stderr } = await host(s, args);
      try {
        assert.match(await echo(client, 'one'), /echo: one/);
        const initializes = double.initializes;
        const old = double.seen.findLast((r) => r.rpc === 'tools/call')!.session;
        assert.ok(old, 'the call carried a session id');
        await double.forget();

        assert.match(await echo(client, 'two'), /echo: two/, stderr());
        assert.equal(double.initializes, initializes + 1, 'the double saw a second initialize');
        const calls = double.seen.filter((r) => r.rpc === 'tools/call').slice(-2);
        assert.deepEqual(calls.map((r) => [r.session === old, r.status]), [[true, 404], [false, 200]], 'refused on the old session, sent again on the new one');
        const init = double.seen.findLast((r) => r.rpc === 'initialize')!;
        assert.equal(init.session, undefined, 'the new initialize carries no session id');
        assert.equal(init.authorization, `Bearer ${token}`, 'the new session gets the stored token');
        const fresh = calls[1]!.session;
        assert.ok(double.seen.some((r) => r.rpc === 'notifications/initialized' && r.session === fresh), 'the handshake was replayed to the new session');

        // A notification refused the same way is sent again too; first the SDK's event stream finds the session gone, as quiet.
        await double.forget();
        await until('the event stream\'s reconnection refused', () => double.seen.some((r) => r.http === 'GET' && r.session === fresh && r.status === 404));
        await client.sendRootsListChanged();
        assert.match(await echo(client, 'three'), /echo: three/);
        const note = double.seen.filter((r) => r.rpc === 'notifications/roots/list_changed').slice(-2);
        assert.deepEqual(note.map((r) => r.status), [404, 202], 'the notification reached the new session');
        assert.equal(note[1]!.session, double.seen.findLast((r) => r.rpc === 'tools/call')!.session);
        assert.equal(double.initializes, initializes + 2);
        assert.deepEqual(errors, [], 'the host\'s Client saw no error');
        // stderr is another pipe than the answers: its lines may come a moment later.
        await until('two notes on stderr', () => stderr().match(/mcpd: server "forgetful" ended its session \(404 to its session id\); opening a new one/g)?.length === 2);
        assert.doesNotMatch(stderr(), /Not Found|reconnect/, 'the 404s themselves are not reported');
      } finally {
        await client.close();
      }
      if (daemon) {
        const log = await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'daemon.log'), 'utf8');
        const lost = log.split('\n').filter((l) => l.includes('"remote.session_lost"')).map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.equal(lost.length, 2, log);
        assert.deepEqual(Object.keys(lost[0]!).sort(), ['event', 'reopened', 'server', 'session', 'time']);
        assert.deepEqual([lost[0]!.server, lost[0]!.reopened], ['forgetful', true]);
      }
      for (const file of await filesUnder(s.dir)) {
        if (!(await stat(file)).isFile() || file.endsWith('.sock')) continue;
        assert.ok(!(await readFile(file)).includes(token), `${file} holds the token in plaintext`);
      }
    });

    it(`requests in flight together when the session ends: each is answered, all on one new session (mcpd ${args.join(' ')})`, async () => {
      const { client, errors, stderr } = await host(s, args);
      try {
        await client.ping();
        const initializes = double.initializes;
        await double.forget();
        const from = double.seen.length;
        const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
        const answers = await Promise.all(words.map((word) => echo(client, word)));
        answers.forEach((answer, i) => assert.match(answer, new RegExp(`echo: ${words[i]}`), stderr()));
        assert.equal(double.initializes, initializes + 1, 'one new session for all of them');
        const calls = double.seen.slice(from).filter((r) => r.rpc === 'tools/call');
        // Those sent before the first 404 came back are refused by the ended session and sent again; a
        // relay that is slower to pass them on (the daemon, under load) sends the later ones to the new session at once.
        const refused = calls.filter((r) => r.status === 404).length;
        assert.ok(refused >= 1 && refused <= words.length, `refused by the ended session: ${refused}`);
        const answered = calls.filter((r) => r.status === 200);
        assert.equal(answered.length, words.length, 'each answered once');
        assert.equal(new Set(answered.map((r) => r.session)).size, 1);
        assert.deepEqual(errors, []);
      } finally {
        await client.close();
      }
    });

    it(`a server that refuses the new session's initialize too: REMOTE_FAILED, "keeps ending its sessions" (mcpd ${args.join(' ')})`, async () => {
      const { client, stderr } = await host(s, args);
      try {
        assert.match(await echo(client, 'before'), /echo: before/);
        double.refuseAll = true;
        await double.forget();
        await assert.rejects(echo(client, 'after'), (error: Error) => {
          assert.match(error.message, new RegExp(`server "forgetful": ${double.url} keeps ending its sessions: it answered 404 to the new session's initialize right after ending the previous session`));
          assert.match(error.message, /hint: the server may be restarting in a loop/);
          return true;
        });
        assert.match(double.seen.findLast((r) => r.http === 'POST')!.rpc ?? '', /initialize/);
      } finally {
        double.refuseAll = false;
        await client.close();
      }
      assert.match(stderr(), /keeps ending its sessions: it answered 404 to the new session's initialize/);
    });

    it(`a server that ends a fourth session within a minute: REMOTE_FAILED, "keeps ending its sessions" (mcpd ${args.join(' ')})`, async () => {
      const { client, stderr } = await host(s, args);
      try {
        const initializes = double.initializes;
        for (const round of [1, 2, 3]) {
          await double.forget();
          assert.match(await echo(client, `round ${round}`), new RegExp(`echo: round ${round}`), stderr());
        }
        assert.equal(double.initializes, initializes + 3, 'three new sessions');
        await double.forget();
        await assert.rejects(echo(client, 'round 4'), /server "forgetful": .* keeps ending its sessions: it ended 4 sessions within 60 s \(mcpd opens a new one at most 3 times a minute\)/);
        assert.equal(double.initializes, initializes + 3, 'no fourth new session');
      } finally {
        await client.close();
      }
    });
  }
});
