/**
 * `mcpd run --no-daemon` as a host app sees it: test/fixtures/run-foreground.js drives the
 * compiled runForeground in a real process, which the tests signal as a user or host would.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { McpdError } from '../../../core/errors.js';
import { buildChildEnv } from '../../../daemon/launcher/child-env.js';
import { runForeground } from '../../../daemon/launcher/foreground.js';
import { maskedForms } from '../../../daemon/launcher/masker.js';
import { alive } from '../../helpers/procs.js';
import { fixture } from '../../helpers/repo.js';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
const baseEnv = buildChildEnv(process.env, false, {});

/** Starts the runner on a server command line (a fixture run by node); `line(re)` waits for a line of its stderr. */
function runFg(server: string[], secrets: Record<string, string> = {}, extraEnv: Record<string, string> = {}) {
  const [script, ...args] = server;
  const run = execa(process.execPath, [fixture('run-foreground.js'), process.execPath, fixture(script!), ...args], {
    env: { ...baseEnv, RUN_FG_SECRETS: JSON.stringify(secrets), ...extraEnv },
    extendEnv: false,
    stdin: 'pipe',
    reject: false,
    stripFinalNewline: false,
  });
  return { run, line: lineWaiter(run.stderr) };
}

function lineWaiter(stream: Readable): (pattern: RegExp) => Promise<void> {
  let seen = '';
  let waiters: Array<() => void> = [];
  const wake = () => { const now = waiters; waiters = []; for (const waiter of now) waiter(); };
  stream.on('data', (chunk: Buffer) => { seen += chunk.toString(); wake(); });
  stream.on('end', wake);
  return (pattern) => new Promise((resolve, reject) => {
    const check = () => {
      if (seen.split('\n').slice(0, -1).some((l) => pattern.test(l))) resolve();
      else if (stream.readableEnded) reject(new Error(`stderr ended without a line matching ${pattern}:\n${seen}`));
      else waiters.push(check);
    };
    check();
  });
}

async function finish(run: ResultPromise) {
  const result = await run;
  return { exitCode: result.exitCode, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
}

describe('runForeground: signals', () => {
  for (const signal of FORWARDED) {
    it(`${signal} to mcpd reaches the server, and mcpd exits with the server's status`, async () => {
      const clean = runFg(['report-signal.js']);
      await clean.line(/^ready$/);
      clean.run.kill(signal);
      const cleanResult = await finish(clean.run);
      assert.match(cleanResult.stderr, new RegExp(`^got ${signal}$`, 'm'));
      assert.equal(cleanResult.exitCode, 0, 'the server shut down cleanly, so mcpd exits 0');
      assert.equal(cleanResult.signal, undefined, 'mcpd itself was not killed by the signal');

      const dies = runFg(['report-signal.js', 'reraise']);
      await dies.line(/^ready$/);
      dies.run.kill(signal);
      const diesResult = await finish(dies.run);
      assert.match(diesResult.stderr, new RegExp(`^got ${signal}$`, 'm'));
      assert.equal(diesResult.exitCode, 128 + constants.signals[signal], 'a server killed by the signal: 128 + its number');
    });
  }

  it('a second SIGINT runs the full shutdown: SIGTERM, then SIGKILL for a server that ignores both', async () => {
    const { run, line } = runFg(['ignores-sigterm.js']);
    await line(/^ready$/);
    run.kill('SIGINT');
    await line(/^ignoring SIGINT$/);
    run.kill('SIGINT');
    await line(/^ignoring SIGTERM$/);
    assert.equal((await finish(run)).exitCode, 137);
  });
});

describe('runForeground: exit status and output', () => {
  it('exits with the server\'s code, or 128 + the signal that killed it', async () => {
    assert.equal((await finish(runFg(['exit-with.js', '7']).run)).exitCode, 7);
    assert.equal((await finish(runFg(['exit-with.js', 'SIGKILL']).run)).exitCode, 137);
  });

  it('nothing it writes holds an injected value, in any form; short values are warned about by name', async () => {
    const token = 'fg-token-"9b8a"/7c6d+5e4f\\';
    const { run, line } = runFg(['echo-token-to-stderr.js'], { TOKEN: token, PIN: '4321' });
    await line(/^still running$/);
    run.stdin.end(); // the server reads our stdin directly, and exits at its end
    const result = await finish(run);
    assert.equal(result.exitCode, 0);
    const written = result.stdout + result.stderr;
    for (const form of [...maskedForms(token), token.slice(0, 12), token.slice(-12)]) {
      assert.ok(!written.includes(form), `mcpd wrote ${form}:\n${written}`);
    }
    assert.match(result.stderr, /^raw: \*\*\*\*$/m);
    assert.match(result.stderr, /^basic: Authorization: Basic \S*\*\*\*\*/m);
    assert.match(result.stderr, /^mcpd: warning: the value of PIN is under 6 characters and cannot be masked in logs$/m);
    assert.ok(!written.includes('4321'));
  });

  it('stdout is the server\'s own, never masked; its environment is exactly the built one', async () => {
    const token = 'stdout-token-5a4b3c';
    const { run } = runFg(['print-env.js'], { TOKEN: token }, { MCPD_TEST_LEAK: 'leak-canary' });
    const result = await finish(run);
    assert.equal(result.exitCode, 0, result.stderr);
    const seen = JSON.parse(result.stdout) as Record<string, string>;
    assert.equal(seen.TOKEN, token);
    assert.deepEqual(seen, { ...baseEnv, TOKEN: token });
  });

  it('leaves no process of the server\'s group behind', async () => {
    const { run } = runFg(['spawns-grandchild.js', 'exit']);
    const result = await finish(run);
    assert.equal(result.exitCode, 3);
    const grandchild = Number(/^grandchild (\d+)$/m.exec(result.stderr)?.[1]);
    assert.ok(grandchild > 0, result.stderr);
    assert.deepEqual(await alive([grandchild]), [], 'gone before mcpd exits');
  });
});

describe('runForeground: in this process', () => {
  const counts = () => FORWARDED.map((signal) => process.listenerCount(signal));
  const spec = (command: string, args: string[]) => ({ command, args, env: baseEnv, secrets: [] });

  it('removes its signal handlers afterwards, whether the server ran or could not start', async () => {
    const before = counts();
    assert.equal(await runForeground(spec(process.execPath, [fixture('exit-with.js'), '5']), { stderr: process.stderr, stdinIsTTY: false }), 5);
    assert.deepEqual(counts(), before);
    await assert.rejects(runForeground(spec('no-such-mcp-server-xyz', []), { stderr: process.stderr, stdinIsTTY: false }), (error: unknown) => {
      assert.ok(error instanceof McpdError);
      assert.equal(error.code, 'SPAWN_FAILED');
      return true;
    });
    assert.deepEqual(counts(), before);
  });
});

describe('runForeground: stdin on a terminal', () => {
  const hasScript = execa('script', ['--version'], { reject: false }).then((r) => r.exitCode === 0);

  it('is relayed to the server, which reads it and exits at end of input', async (t) => {
    if (!(await hasScript)) {
      t.skip('needs `script` (util-linux) to give the runner a terminal');
      return;
    }
    const command = [process.execPath, fixture('run-foreground.js'), process.execPath, fixture('reads-stdin.js')].map((word) => `'${word}'`).join(' ');
    const run = execa('script', ['-qec', command, '/dev/null'], { env: baseEnv, extendEnv: false, stdin: 'pipe', reject: false });
    // The terminal's output (our stdout and stderr, and its echo) comes back on script's stdout.
    const line = lineWaiter(run.stdout);
    await line(/^ready\r?$/);
    run.stdin.write('hello from a terminal\n');
    await line(/^read: hello from a terminal\r?$/);
    run.stdin.write('\x04'); // Ctrl-D: end of input on a terminal
    const result = await run;
    assert.equal(result.exitCode, 0, String(result.stdout));
  });
});
