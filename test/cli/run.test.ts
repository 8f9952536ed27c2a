/**
 * `mcpd run` as a host app runs it: a real process, real signals, the server's exit code, and
 * nothing left behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { cliMain, fixture } from '../helpers/repo.js';
import { waitUntilGone } from '../helpers/procs.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

let s: Sandbox;

/** Starts `mcpd run ARGS`, resolving once its stderr has shown `ready`. */
async function startRun(args: string[], env: Record<string, string> = {}) {
  const run = execa(process.execPath, [cliMain, 'run', ...args], { env: { ...s.env, ...env }, extendEnv: false, reject: false, stdin: 'pipe', stripFinalNewline: false });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    run.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('ready')) resolve();
    });
    run.once('exit', () => reject(new Error(`mcpd run exited early: ${stderr}`)));
  });
  return { run, stderr: () => stderr };
}

describe('mcpd run', () => {
  before(async () => { s = await sandbox(); await s.writeConfig({}); });
  after(() => s.cleanup());

  it('exits with the server\'s exit code', async () => {
    const result = await s.cli(['run', '--', process.execPath, fixture('exit-with.js'), '42']);
    assert.equal(result.exitCode, 42, result.stderr);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`forwards ${signal} to the server, which shuts down cleanly`, async () => {
      const { run } = await startRun(['--', process.execPath, fixture('report-signal.js')]);
      run.kill(signal);
      const result = await run;
      assert.match(String(result.stderr), new RegExp(`got ${signal}`));
      assert.equal(result.exitCode, 0, 'mcpd exits with the server\'s own code');
    });
  }

  it('a server killed by a signal: mcpd exits 128 + its number', async () => {
    const { run } = await startRun(['--', process.execPath, fixture('ignores-sigterm.js')]);
    const pid = Number((await execa('pgrep', ['-P', String(run.pid)])).stdout.trim());
    process.kill(pid, 'SIGKILL');
    assert.equal((await run).exitCode, 137);
  });

  it('leaves no process of the server\'s group behind when the server exits', async () => {
    const result = await s.cli(['run', '--', process.execPath, fixture('spawns-grandchild.js'), 'exit']);
    assert.equal(result.exitCode, 3);
    const grandchild = Number(/grandchild (\d+)/.exec(result.stderr)?.[1]);
    assert.ok(grandchild > 0, result.stderr);
    await waitUntilGone([grandchild]);
  });

  it('a secret the server prints to stderr never appears in what mcpd writes, in any form', async () => {
    const token = 'cli-token-0d9e8c7b6a5f';
    const { run, stderr } = await startRun(['-e', 'TOKEN=${TOKEN_SOURCE}', '--', process.execPath, fixture('echo-token-to-stderr.js')], { TOKEN_SOURCE: token });
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (stderr().includes('still running')) { clearInterval(t); resolve(); } }, 20); });
    run.stdin.end();
    const result = await run;
    const written = `${String(result.stdout)}${String(result.stderr)}`;
    assert.equal(result.exitCode, 0);
    for (const form of [token, Buffer.from(token).toString('base64').replace(/=+$/, ''), Buffer.from(token).toString('base64url'), token.slice(0, 12)]) {
      assert.ok(!written.includes(form), `mcpd's output holds ${form}`);
    }
    assert.match(written, /raw: \*\*\*\*/);
  });

  it('a literal env value of 6+ characters is masked like a resolved secret; a short literal is neither masked nor warned about', async () => {
    const token = 'literal-token-5f4e3d2c1b';
    await s.writeConfig({ mcpServers: { literal: { command: process.execPath, args: [fixture('echo-token-to-stderr.js')], env: { TOKEN: token, LEVEL: 'info' } } } });
    const { run, stderr } = await startRun(['--no-daemon', 'literal']);
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (stderr().includes('still running')) { clearInterval(t); resolve(); } }, 20); });
    run.stdin.end();
    const result = await run;
    await s.writeConfig({});
    const written = `${String(result.stdout)}${String(result.stderr)}`;
    assert.equal(result.exitCode, 0, written);
    for (const form of [token, JSON.stringify(token), encodeURIComponent(token), Buffer.from(token).toString('base64').replace(/=+$/, ''), token.slice(0, 12)]) {
      assert.ok(!written.includes(form), `mcpd's output holds ${form}`);
    }
    assert.match(written, /raw: \*\*\*\*/);
    assert.doesNotMatch(written, /warning/, 'LEVEL is a literal: no warning that it cannot be masked');
  });

  it('ad hoc: -e values may hold references, and a missing one names itself (exit 3)', async () => {
    const result = await s.cli(['run', '-e', 'A=${NOT_SET_ANYWHERE}', '--', process.execPath, fixture('exit-with.js'), '0']);
    assert.equal(result.exitCode, 3);
    assert.equal(result.stderr, 'mcpd: -e A: environment variable NOT_SET_ANYWHERE is not set (referenced as ${NOT_SET_ANYWHERE})\n  hint: set NOT_SET_ANYWHERE in the environment mcpd runs in, or give a default: ${NOT_SET_ANYWHERE:-default}\n');
  });

  it('--no-daemon, inheritEnv: true: the server gets the caller\'s environment less mcpd\'s own credentials', async () => {
    const own = { MCPD_STORE_PASSPHRASE: 'pass-canary-51d', MCPD_TOKEN: 'mcpd-canary-51d', VAULT_TOKEN: 'vault-canary-51d', OP_SERVICE_ACCOUNT_TOKEN: 'op-canary-51d' };
    await s.writeConfig({ mcpServers: { printer: { command: process.execPath, args: [fixture('print-env.js')], inheritEnv: true } } });
    try {
      const result = await s.cli(['run', '--no-daemon', 'printer'], { env: { ...own, HTTPS_PROXY: 'http://proxy.test' } });
      assert.equal(result.exitCode, 0, result.stderr);
      assert.equal((JSON.parse(result.stdout) as Record<string, string>).HTTPS_PROXY, 'http://proxy.test');
      for (const [name, value] of Object.entries(own)) assert.ok(!result.stdout.includes(value), `the server was given ${name}`);
    } finally {
      await s.writeConfig({});
    }
  });

  it('a server command that does not exist: exit 1 naming it', async () => {
    const result = await s.cli(['run', '--', 'no-such-mcp-server-xyz']);
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /^mcpd: cannot start no-such-mcp-server-xyz: no such command/);
  });
});
