import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { text } from 'node:stream/consumers';
import { after, afterEach, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { McpdError } from '../../../core/errors.js';
import { buildChildEnv } from '../../../daemon/launcher/child-env.js';
import { type ChildOptions, type LaunchSpec, type ServerProcess, startChild } from '../../../daemon/launcher/child.js';
import { maskedForms } from '../../../daemon/launcher/masker.js';
import { alive, cmdlineOf, groupMembers, waitUntilGone } from '../../helpers/procs.js';
import { fixture, repoRoot } from '../../helpers/repo.js';

const env = buildChildEnv(process.env, false, {});
const node = (script: string, args: string[] = [], more: Partial<LaunchSpec> = {}): LaunchSpec => ({
  command: process.execPath, args: [fixture(script), ...args], env, secrets: [], ...more,
});
const piped: ChildOptions = { stdin: 'pipe', stdout: 'pipe' };
const quick = { stdinGraceMs: 100, termGraceMs: 300 };

/** A stream's text so far; `line(re)` resolves with the first complete line matching, and rejects if the stream ends first. */
function watch(stream: Readable) {
  let seen = '';
  let ended = false;
  let waiters: Array<() => void> = [];
  const wake = () => { const now = waiters; waiters = []; for (const waiter of now) waiter(); };
  stream.on('data', (chunk: Buffer) => { seen += chunk.toString(); wake(); });
  stream.on('end', () => { ended = true; wake(); });
  const line = (pattern: RegExp) => new Promise<string>((resolve, reject) => {
    const check = () => {
      const found = seen.split('\n').slice(0, -1).find((l) => pattern.test(l));
      if (found !== undefined) resolve(found);
      else if (ended) reject(new Error(`stderr ended without a line matching ${pattern}:\n${seen}`));
      else waiters.push(check);
    };
    check();
  });
  return { text: () => seen, line, ended: finished(stream) };
}

const started = new Set<ServerProcess>();
async function start(spec: LaunchSpec, options: ChildOptions = piped) {
  const child = await startChild(spec, options);
  started.add(child);
  return { child, stderr: watch(child.stderr) };
}

// A failed assertion must not leave a server running into the next test.
afterEach(async () => {
  for (const child of started) if (child.exitInfo === undefined) child.signal('SIGKILL');
  await Promise.all([...started].map((child) => child.exited));
  started.clear();
});

describe('launcher: exit status', () => {
  it('is the server\'s own exit code', async () => {
    const { child } = await start(node('exit-with.js', ['7']));
    assert.deepEqual(await child.exited, { code: 7, signal: null, exitCode: 7 });
  });

  it('is 128 + the signal\'s number for a server killed by a signal', async () => {
    const { child } = await start(node('exit-with.js', ['SIGKILL']));
    assert.deepEqual(await child.exited, { code: null, signal: 'SIGKILL', exitCode: 137 });
    const other = await start(node('ignores-sigterm.js'));
    await other.stderr.line(/ready/);
    process.kill(other.child.pid, 'SIGKILL');
    assert.equal((await other.child.exited).exitCode, 137);
  });
});

describe('launcher: stdio', () => {
  it('passes stdin and stdout through untouched, even an injected value on stdout', async () => {
    const token = 'stdout-token-123456';
    const script = 'process.stdin.on("data", (d) => process.stdout.write(d + process.env.T))';
    const { child } = await start({ command: process.execPath, args: ['-e', script], env: { ...env, T: token }, secrets: [{ variable: 'T', value: token }] });
    const out = text(child.stdout!);
    child.stdin!.end('{"jsonrpc":"2.0"}\n');
    assert.equal(await out, `{"jsonrpc":"2.0"}\n${token}`);
  });

  it('masks injected values on stderr, in every form, while the server is still running', async () => {
    const token = 'masked-token-"6f1c"/2a9e+';
    const { child, stderr } = await start(node('echo-token-to-stderr.js', [], { env: { ...env, TOKEN: token }, secrets: [{ variable: 'TOKEN', value: token }] }));
    await stderr.line(/still running/);
    assert.equal(child.exitInfo, undefined, 'the lines came before the server exited');
    await child.stop();
    await stderr.ended;
    for (const form of [...maskedForms(token), token.slice(0, 12), token.slice(-12)]) {
      assert.ok(!stderr.text().includes(form), `stderr holds ${form}:\n${stderr.text()}`);
    }
    assert.match(stderr.text(), /^raw: \*\*\*\*\n/m);
    assert.match(stderr.text(), /^split: \*\*\*\*\n/m);
  });

  it('honours cwd', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpd-cwd-'));
    try {
      const { child } = await start({ command: process.execPath, args: ['-e', 'process.stdout.write(process.cwd())'], env, cwd: dir, secrets: [] });
      assert.equal(await text(child.stdout!), dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('launcher: stop()', () => {
  it('closes stdin first, and a server that exits on EOF needs no signal', async () => {
    const { child, stderr } = await start(node('echo-token-to-stderr.js'));
    await stderr.line(/still running/);
    assert.deepEqual(await child.stop({ stdinGraceMs: 10_000 }), { code: 0, signal: null, exitCode: 0 });
  });

  it('then sends SIGTERM to a server that does not read stdin', async () => {
    const { child, stderr } = await start(node('report-signal.js'));
    await stderr.line(/ready/);
    assert.equal((await child.stop(quick)).exitCode, 0);
    assert.match(stderr.text(), /got SIGTERM/);
  });

  it('escalates to SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const { child, stderr } = await start(node('ignores-sigterm.js'));
    await stderr.line(/ready/);
    const began = Date.now();
    assert.deepEqual(await child.stop({ stdinGraceMs: 50, termGraceMs: 200 }), { code: null, signal: 'SIGKILL', exitCode: 137 });
    assert.ok(Date.now() - began >= 250, 'both grace periods were given');
    await stderr.line(/ignoring SIGTERM/);
  });

  it('a second call joins the first; after the exit it just reports it', async () => {
    const { child, stderr } = await start(node('ignores-sigterm.js'));
    await stderr.line(/ready/);
    const [a, b] = await Promise.all([child.stop({ stdinGraceMs: 0, termGraceMs: 100 }), child.stop()]);
    assert.deepEqual(a, b);
    assert.deepEqual(await child.stop(), a);
  });
});

describe('launcher: the process group', () => {
  it('reaps a grandchild that ignores SIGTERM when the server exits', async () => {
    const { child, stderr } = await start(node('spawns-grandchild.js', ['exit']), { ...piped, reapGraceMs: 200 });
    const grandchild = Number((await stderr.line(/^grandchild \d+$/)).split(' ')[1]);
    assert.equal((await child.exited).exitCode, 3);
    assert.deepEqual(await alive([grandchild]), [], 'gone by the time `exited` resolves');
    assert.deepEqual(await groupMembers(child.pid), []);
  });

  it('stop() ends the whole group', async () => {
    const { child, stderr } = await start(node('spawns-grandchild.js', ['stay']), { ...piped, reapGraceMs: 200 });
    const grandchild = Number((await stderr.line(/^grandchild \d+$/)).split(' ')[1]);
    assert.deepEqual(await alive([grandchild]), [grandchild]);
    await child.stop(quick);
    assert.deepEqual(await groupMembers(child.pid), []);
  });

  it('stderr ends once the group is gone, even while a grandchild held it open', async () => {
    const { child, stderr } = await start(node('spawns-grandchild.js', ['exit', 'inherit']), { ...piped, reapGraceMs: 200 });
    await child.exited;
    await stderr.ended;
  });

  it('a process that left the group cannot hold stderr open for ever: it is cut', async () => {
    const { child, stderr } = await start(node('spawns-grandchild.js', ['exit', 'escape']), { ...piped, reapGraceMs: 200, stderrCloseMs: 200 });
    const escaped = Number((await stderr.line(/^grandchild \d+$/)).split(' ')[1]);
    try {
      await child.exited;
      await stderr.ended;
      assert.deepEqual(await alive([escaped]), [escaped], 'setsid took it out of reach, as documented');
    } finally {
      process.kill(escaped, 'SIGKILL');
    }
  });
});

describe('launcher: when mcpd itself exits', () => {
  it('a server still running gets SIGTERM, not left behind unnoticed', async () => {
    // A stand-in for mcpd dying mid-run (process.exit, a crash): it prints the server's pid and exits.
    const childModule = new URL('../../../daemon/launcher/child.js', import.meta.url).href;
    const script = `const { startChild } = await import(${JSON.stringify(childModule)});
      const child = await startChild({ command: process.execPath, args: [${JSON.stringify(fixture('report-signal.js'))}], env: {}, secrets: [] }, { stdin: 'ignore', stdout: 'ignore' });
      child.stderr.once('data', () => { process.stdout.write(String(child.pid)); process.exit(0); });`;
    const result = await execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
    assert.equal(result.exitCode, 0, String(result.stderr));
    await waitUntilGone([Number(result.stdout)], 5000);
  });
});

describe('launcher: real npx', { timeout: 60_000 }, () => {
  const npx = (): LaunchSpec => ({ command: 'npx', args: ['--no-install', 'mcp-server-everything'], env, cwd: repoRoot, secrets: [] });

  /** Starts server-everything through npx and returns its group once the server itself is up. */
  async function startEverything() {
    const { child, stderr } = await start(npx());
    await stderr.line(/STDIO/);
    const members = await groupMembers(child.pid);
    const below = await Promise.all(members.filter((pid) => pid !== child.pid).map(cmdlineOf));
    assert.ok(below.some((cmdline) => cmdline.includes('mcp-server-everything')), `npm exec runs the server as a grandchild, in its group: ${below.join(' | ')}`);
    return { child, members };
  }

  it('stop() leaves no process of the group (npm exec, the node server) behind', async () => {
    const { child, members } = await startEverything();
    await child.stop();
    assert.deepEqual(await alive(members), []);
  });

  it('when npm exec alone is killed, the server it left behind is reaped', async () => {
    const { child, members } = await startEverything();
    process.kill(child.pid, 'SIGKILL');
    assert.equal((await child.exited).exitCode, 137);
    assert.deepEqual(await alive(members), []);
  });
});

describe('launcher: commands that cannot start', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'mcpd-spawn-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  async function failure(spec: LaunchSpec): Promise<McpdError> {
    const error = await startChild(spec, piped).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof McpdError, `expected an McpdError, got ${String(error)}`);
    assert.equal(error.code, 'SPAWN_FAILED');
    assert.ok(error.hint);
    return error;
  }

  it('a command that does not exist: SPAWN_FAILED naming it and the cwd', async () => {
    const error = await failure({ command: 'no-such-mcp-server-xyz', args: [], env: { ...env, SECRET: 'not-in-any-message' }, secrets: [] });
    assert.equal(error.message, `cannot start no-such-mcp-server-xyz: no such command (looked up in the server's PATH, from ${process.cwd()})`);
    assert.equal(error.hint, 'install it, or give "command" as a full path; it is run without a shell');
    assert.ok(!error.format().includes('not-in-any-message'));
  });

  it('a file that is not executable: SPAWN_FAILED saying so', async () => {
    const script = join(dir, 'server.js');
    await writeFile(script, 'process.exit(0)\n');
    await chmod(script, 0o644);
    const error = await failure({ command: script, args: [], env, secrets: [] });
    assert.equal(error.message, `cannot start ${script}: permission denied, it is not an executable file (from ${process.cwd()})`);
    assert.match(error.hint!, /chmod \+x/);
  });

  it('a cwd that does not exist, or is a file: SPAWN_FAILED naming it', async () => {
    const missing = await failure({ ...node('exit-with.js'), cwd: join(dir, 'no-such-dir') });
    assert.equal(missing.message, `cannot start ${process.execPath}: the cwd ${join(dir, 'no-such-dir')} does not exist`);
    assert.equal(missing.hint, 'create the directory, or correct "cwd" in the server\'s config');
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    assert.match((await failure({ ...node('exit-with.js'), cwd: file })).message, / is not a directory$/);
  });

  it('names the server when the spec says which', async () => {
    assert.match((await failure({ name: 'github', command: 'no-such-mcp-server-xyz', args: [], env, secrets: [] })).message, /^server "github": cannot start no-such-mcp-server-xyz: /);
  });
});
