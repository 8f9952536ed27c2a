/**
 * Warm pools in a real daemon, with real processes (the mini-mcp fixture): filled at start,
 * taken by a session whose initialize is then the first thing the process hears, refilled,
 * replaced when killed, rebuilt by a reload that changes the server, replaced by restart --roll,
 * replaced by a rotation, stopped by `mcpd stop NAME` and by the daemon's stop; a pool that cannot fill says why, and a
 * server read through the 1Password desktop app is never pre-started. The injected value is
 * never in a pooled process's argv nor in any file of the sandbox.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { DaemonStatus, PoolStatus } from '../../daemon/protocol.js';
import { MiniSession, rawRequest, startDaemon, waitFor } from '../helpers/daemon.js';
import { alive, cmdlineOf, waitUntilGone } from '../helpers/procs.js';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { filesUnder } from '../helpers/files.js';

const SECRET = `warm-canary-${randomBytes(8).toString('hex')}`;
const mini = { command: process.execPath, args: [fixture('mini-mcp.js')] };
const config = (otherEnv: Record<string, string> = {}) => ({
  mcpServers: {
    mini: { ...mini, env: { MINI_SECRET: '${env:WARM_SECRET}' }, warm: 2 },
    other: { ...mini, env: otherEnv, warm: 1 },
    broken: { ...mini, env: { X: '${env:WARM_NOT_SET_ANYWHERE}' }, warm: 1 },
    desk: { ...mini, env: { T: '${op://Vault/Item/field}' }, warm: 1 },
    cold: mini,
    rot: { ...mini, env: { R: '${local:warm/rotated}' }, warm: 1 },
  },
  providers: { local: { type: 'local', key: 'file' } },
  rotation: { 'local:warm/rotated': { strategy: 'generate', every: '90d' } },
  daemon: { restart: { initialDelay: '200ms', maxDelay: '1s' } },
});
const FIRST = 'first-rotated-value-0001';
const environOf = async (pid: number) => (await readFile(`/proc/${pid}/environ`, 'latin1')).split('\0');

describe('warm pools in the daemon', () => {
  let s: Sandbox;
  /** Every pooled pid seen, for the argv check and the final "all gone". */
  const seen = new Set<number>();

  const status = async () => JSON.parse((await s.cli(['status', '--json'])).stdout) as DaemonStatus;
  const pool = async (name: string): Promise<PoolStatus> => {
    const found = (await status()).servers.find((x) => x.name === name);
    assert.ok(found?.pool, `server ${name} has a pool in status`);
    return found.pool;
  };
  /** Waits until `name`'s pool has `count` running instances (and `check` holds), and returns their pids. */
  const running = async (name: string, count: number, check: (pids: number[]) => boolean = () => true): Promise<number[]> => {
    let pids: number[] = [];
    await waitFor(async () => {
      pids = (await pool(name)).instances.filter((i) => i.state === 'running').map((i) => i.pid!);
      return pids.length === count && check(pids);
    }, `${count} pooled instances of ${name}`);
    for (const pid of pids) seen.add(pid);
    return pids;
  };
  const pidOf = async (session: MiniSession) => {
    const answer = await session.request('tools/call', { name: 'pid', arguments: {} });
    return Number((answer.result as { content: Array<{ text: string }> }).content[0]!.text);
  };

  before(async () => {
    s = await sandbox();
    await s.writeConfig(config());
    const stored = await s.cli(['secret', 'set', 'local:warm/rotated'], { input: FIRST });
    assert.equal(stored.exitCode, 0, stored.stderr);
    await startDaemon(s, { WARM_SECRET: SECRET, OP_ACCOUNT: 'me.1password.com' });
  });
  after(() => s.cleanup());

  it('fills when the daemon starts; status shows the pids, their memory, and why a pool cannot fill or is held back', async () => {
    const pids = await running('mini', 2);
    await running('other', 1);
    const minis = (await pool('mini')).instances;
    for (const i of minis) {
      assert.ok(i.rssKiB !== undefined && i.rssKiB > 1000, `a node process holds more than 1 MB: ${i.rssKiB}`);
      assert.ok(i.since && Date.parse(i.since) <= Date.now());
    }
    // Resolved ahead of need: the value is in the waiting process's environment, never in its argv.
    for (const pid of pids) {
      assert.ok((await environOf(pid)).includes(`MINI_SECRET=${SECRET}`));
      assert.ok(!(await cmdlineOf(pid)).includes(SECRET));
    }
    await waitFor(async () => /WARM_NOT_SET_ANYWHERE/.test((await pool('broken')).lastError ?? ''), 'the broken pool\'s reason');
    const broken = await pool('broken');
    assert.equal(broken.instances.filter((i) => i.state === 'running').length, 0);
    const desk = await pool('desk');
    assert.deepEqual(desk.instances, []);
    assert.equal(desk.held, '${op://Vault/Item/field} is read through the 1Password desktop app, which asks the user to approve; the server starts when a session opens');
    assert.equal((await status()).servers.find((x) => x.name === 'cold')!.pool, undefined);

    const text = (await s.cli(['status'])).stdout;
    assert.match(text, /^mini: stopped, 0 sessions, 0 restarts\n {2}warm pool: ready, 2 of 2 ready\n {4}pooled: running, pid \d+, up \d+s, \d+\.\d MiB\n/m);
    assert.match(text, /^broken: .*\n(?:.*\n)*? {4}pool error: .*\$\{env:WARM_NOT_SET_ANYWHERE\}/m);
    assert.match(text, /^ {2}warm pool: not pre-started: \$\{op:\/\/Vault\/Item\/field\} is read through the 1Password desktop app/m);
  });

  it('a session takes a pooled process started before it opened, its initialize is answered, and the pool refills', async () => {
    const before = await running('mini', 2);
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'mini');
    await session.initialize();
    const pid = await pidOf(session);
    assert.ok(before.includes(pid), `pid ${pid} is one of the pooled ${before.join(', ')}`);
    const env = await session.request('tools/call', { name: 'get-env', arguments: {} });
    assert.equal(JSON.parse((env.result as { content: Array<{ text: string }> }).content[0]!.text).MINI_SECRET, SECRET);
    const refilled = await running('mini', 2, (pids) => !pids.includes(pid));
    assert.equal(refilled.filter((p) => !before.includes(p)).length, 1, 'one replacement started');
    const listed = (await status()).servers.find((x) => x.name === 'mini')!;
    assert.equal(listed.sessions, 1);
    assert.equal(listed.instances[0]!.pid, pid);
    await session.close();
  });

  it('with the pool empty, a session starts its own process at once', async () => {
    const [pooled] = await running('other', 1);
    const [first, second] = await Promise.all([MiniSession.open(s.env.MCPD_SOCKET!, 'other'), MiniSession.open(s.env.MCPD_SOCKET!, 'other')]);
    await Promise.all([first!.initialize(), second!.initialize()]);
    const pids = [await pidOf(first!), await pidOf(second!)];
    assert.equal(pids.filter((p) => p === pooled).length, 1, `one session got the pooled ${pooled}: ${pids.join(', ')}`);
    await running('other', 1, (now) => !pids.includes(now[0]!));
    await Promise.all([first!.close(), second!.close()]);
  });

  it('a pooled process that is killed is replaced', async () => {
    const [victim, survivor] = await running('mini', 2);
    process.kill(victim!, 'SIGKILL');
    const now = await running('mini', 2, (pids) => !pids.includes(victim!));
    assert.ok(now.includes(survivor!));
  });

  it('a reload that changes a server rebuilds its pool with new processes; an unchanged server keeps its pids', async () => {
    const minis = await running('mini', 2);
    const [old] = await running('other', 1);
    await s.writeConfig(config({ EDITED: '1' }));
    assert.equal((await s.cli(['reload'])).exitCode, 0);
    const [rebuilt] = await running('other', 1, (pids) => pids[0] !== old);
    assert.ok((await environOf(rebuilt!)).includes('EDITED=1'));
    await waitUntilGone([old!]);
    assert.deepEqual((await running('mini', 2)).sort(), minis.sort());
  });

  it('restart --roll replaces the pooled processes with fresh ones', async () => {
    const old = await running('mini', 2);
    assert.equal((await s.cli(['restart', 'mini', '--roll'])).exitCode, 0);
    await running('mini', 2, (pids) => pids.every((p) => !old.includes(p)));
    await waitUntilGone(old);
  });

  it('a rotation of a secret a pooled process holds replaces it with one started with the new value', async () => {
    const [old] = await running('rot', 1);
    assert.ok((await environOf(old!)).includes(`R=${FIRST}`));
    const rotated = await s.cli(['rotate', 'local:warm/rotated', '--now']);
    assert.equal(rotated.exitCode, 0, rotated.stderr);
    const [fresh] = await running('rot', 1, (pids) => pids[0] !== old);
    const value = (await environOf(fresh!)).find((v) => v.startsWith('R='));
    assert.ok(value && value !== `R=${FIRST}` && value.length > 20, 'the new process has the generated value');
    await waitUntilGone([old!]);
  });

  it('a pool that cannot fill leaves sessions as they were: refused, naming the reference', async () => {
    const refusal = await rawRequest(s.env.MCPD_SOCKET!, '/v1/session/broken', true);
    assert.equal(refusal.body.error.code, 'ENV_UNSET');
    assert.match(refusal.body.error.message, /\$\{env:WARM_NOT_SET_ANYWHERE\}/);
  });

  it('mcpd stop NAME leaves no pooled process; the next session starts one and the pool fills again', async () => {
    const old = await running('mini', 2);
    assert.equal((await s.cli(['stop', 'mini'])).exitCode, 0);
    await waitUntilGone(old);
    const stopped = await pool('mini');
    assert.equal(stopped.state, 'stopped');
    assert.deepEqual(stopped.instances, []);
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'mini');
    await session.initialize();
    assert.ok(!old.includes(await pidOf(session)));
    await running('mini', 2);
    await session.close();
  });

  it('the value is in no file of the sandbox: not the logs, not the audit log', async () => {
    const files = await filesUnder(s.dir);
    assert.ok(files.some((f) => f.endsWith('audit.log') || f.includes('audit')), `the audit log is among ${files.length} files`);
    for (const file of files) assert.ok(!(await readFile(file, 'latin1')).includes(SECRET), `${file} holds the value`);
    const audit = (await readFile(files.find((f) => /audit[^/]*$/.test(f))!, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; session?: string; server?: string });
    assert.ok(audit.some((e) => e.event === 'secret.resolved' && e.session === 'pool' && e.server === 'mini'), 'pooled starts audit their references as session "pool"');
  });

  it('the daemon\'s stop leaves no pooled process', async () => {
    const last = [...await running('mini', 2), ...await running('other', 1)];
    assert.deepEqual((await alive(last)).sort(), last.sort());
    assert.equal((await s.cli(['stop'])).exitCode, 0);
    await waitUntilGone([...seen]);
  });
});
