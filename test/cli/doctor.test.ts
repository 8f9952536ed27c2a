/**
 * `mcpd doctor` against real configs, stores, a real daemon and real unit files: each problem
 * named with its fix, exit 1 when a check fails, and never a value in what it prints.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Check } from '../../cli/commands/doctor.js';
import { MiniSession, startDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const secret = 'doctor-secret-value-4242';
const mini = (env: object) => ({ command: process.execPath, args: [fixture('mini-mcp.js')], env });
const config = {
  providers: { local: { type: 'local', key: 'file' }, vault: { type: 'vault', address: 'http://127.0.0.1:9' } },
  mcpServers: { good: mini({ A: '${local:doc/ok}' }), bad: mini({ B: '${local:doc/missing}' }) },
  rotation: { 'local:doc/ok': { strategy: 'remind', every: '90d' } },
};

describe('mcpd doctor', () => {
  let s: Sandbox;
  const doctor = async () => {
    const run = await s.cli(['doctor', '--json']);
    return { ...run, checks: JSON.parse(run.stdout) as Check[] };
  };
  const find = (checks: Check[], subject: string) => checks.filter((c) => c.subject === subject);

  before(async () => {
    s = await sandbox();
    await s.writeConfig(config);
    assert.equal((await s.cli(['secret', 'set', 'local:doc/ok'], { input: secret })).exitCode, 0);
  });
  after(() => s.cleanup());

  it('without a daemon: a reference that does not resolve fails with its fix; an unused provider is not asked', async () => {
    const text = await s.cli(['doctor'], { env: { PATH: join(s.dir, 'no-bin') } }); // a PATH without mcpd on it, on any machine
    assert.equal(text.exitCode, 1, text.stderr);
    assert.match(text.stdout, new RegExp(`^ok {4}config: ${s.configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 2 server\\(s\\), 2 configured provider\\(s\\)$`, 'm'));
    assert.match(text.stdout, /^FAIL {2}provider local: \$\{local:doc\/missing\} \(used by bad\): .*doc\/missing.*\n {6}fix: /m);
    assert.match(text.stdout, /^- {5}provider vault: no server uses it, so it was not asked$/m);
    assert.match(text.stdout, /^- {5}daemon: no daemon answers on .*; the first mcpd run starts one$/m);
    assert.match(text.stdout, /^- {5}rotation: not checked: the daemon keeps the schedules\n {6}fix: mcpd start, then mcpd doctor again$/m);
    assert.match(text.stdout, /^WARN {2}command: no mcpd on PATH: .*\n {6}fix: install it globally/m);
    assert.match(text.stdout, /\n1 failed, 1 warning\(s\)\n$/);
    assert.ok(!text.stdout.includes(secret) && !text.stderr.includes(secret), 'no value printed');
  });

  it('a socket path others could have prepared fails with the fix, and the daemon is not asked', async () => {
    const open = join(s.dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const run = await s.cli(['doctor'], { env: { MCPD_SOCKET: join(open, 'mcpd.sock') } });
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stdout, new RegExp(`^FAIL {2}daemon: refusing the socket ${open}/mcpd.sock: the folder ${open} is writable by others \\(mode 0777\\)\n {6}fix: chmod go-w ${open}, `, 'm'));
  });

  it('with a daemon: its state, and a reminder gone overdue, each with what to do', async () => {
    // mcpd last saw the key rotated 100 days ago: a 90-day reminder is overdue.
    const state = join(s.env.XDG_STATE_HOME!, 'mcpd', 'rotation');
    await mkdir(state, { recursive: true });
    await writeFile(join(state, 'state.json'), JSON.stringify({ 'local:doc/ok': { last: new Date(Date.now() - 100 * 86_400_000).toISOString() } }));
    await startDaemon(s);
    const { exitCode, checks, stdout } = await doctor();
    assert.equal(exitCode, 1, 'the missing reference still fails');
    assert.match(find(checks, 'daemon')[0]!.message, /^pid \d+ on .*, version \d+\.\d+\.\d+$/);
    assert.equal(find(checks, 'daemon')[0]!.status, 'ok');
    assert.deepEqual(find(checks, 'rotation local:doc/ok').map((c) => [c.status, c.fix]), [
      ['warn', 'rotate it upstream, mcpd secret set local:doc/ok, then mcpd rotate local:doc/ok --now'],
    ]);
    assert.match(find(checks, 'rotation local:doc/ok')[0]!.message, /^overdue: last rotated \S+ \(100 days ago\)$/);
    assert.ok(!stdout.includes(secret));

    const token = (await s.cli(['token', 'create', 'doc', '--scope', 'launch:good'])).stdout.trim();
    const limited = JSON.parse((await s.cli(['doctor', '--json'], { env: { MCPD_TOKEN: token } })).stdout) as Check[];
    assert.deepEqual(find(limited, 'daemon'), [{
      subject: 'daemon', status: 'fail',
      message: 'token "doc" lacks the scope status:read needed for the control method status',
      fix: 'create a token with --scope status:read (mcpd token create NAME --scope status:read), or ask the owner to',
    }], 'a token that may not read status: said, not a crash');
    assert.ok(find(limited, 'config').length === 1, 'the other checks still run');
  });

  it('a config edit the daemon refused, and a server it gave up on, fail with their fixes', async () => {
    await writeFile(s.configPath, '{ "mcpServers": ');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await s.cli(['reload'])).exitCode, 2);
    const { checks } = await doctor();
    assert.deepEqual(find(checks, 'config').map((c) => c.status), ['fail'], 'the file itself');
    assert.match(find(checks, 'config')[0]!.message, /config\.json:1:\d+: JSON syntax error/);
    const refused = find(checks, 'daemon').find((c) => c.status === 'fail');
    assert.match(refused?.message ?? '', /^it refused the last config edit and runs the one before: .*JSON syntax error/);
    assert.equal(refused?.fix, 'fix the config (mcpd config check), then mcpd reload');
    assert.ok(find(checks, 'keychain').length === 1, 'the checks that need no config still run');

    await s.writeConfig({ ...config, mcpServers: { ...config.mcpServers, crashy: mini({}) }, daemon: { restart: { initialDelay: '50ms', maxDelay: '50ms', stableAfter: '30s', maxRestarts: 0 } } });
    assert.equal((await s.cli(['reload'])).exitCode, 0);
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'crashy');
    await session.initialize();
    await session.request('tools/call', { name: 'crash', arguments: {} });
    await session.closed;
    const crashed = find((await doctor()).checks, 'server crashy');
    assert.equal(crashed.length, 1);
    assert.equal(crashed[0]!.status, 'fail');
    assert.match(crashed[0]!.message, /^failed: .*crashed/);
    assert.equal(crashed[0]!.fix, 'mcpd logs crashy shows its stderr; after the fix, mcpd restart crashy');
    await s.writeConfig(config);
    assert.equal((await s.cli(['reload'])).exitCode, 0);
  });

  it('a reference this shell resolves and the daemon does not (its own environment) fails, once', async () => {
    await s.writeConfig({ ...config, mcpServers: { ...config.mcpServers, envy: mini({ E: '${env:DOCTOR_ONLY_HERE}' }) } });
    assert.equal((await s.cli(['reload'])).exitCode, 0);
    const here = JSON.parse((await s.cli(['doctor', '--json'], { env: { DOCTOR_ONLY_HERE: 'set-in-this-shell' } })).stdout) as Check[];
    const envChecks = find(here, 'provider env').filter((c) => c.status === 'fail');
    assert.equal(envChecks.length, 1, JSON.stringify(envChecks));
    assert.equal(envChecks[0]!.status, 'fail');
    assert.match(envChecks[0]!.message, /^the daemon cannot resolve \$\{env:DOCTOR_ONLY_HERE\} \(used by envy\), though this shell can: /);
    assert.match(envChecks[0]!.fix ?? '', /^the daemon resolves in the environment it was started from: mcpd stop, then start it again/);
    assert.ok(!JSON.stringify(here).includes('set-in-this-shell'), 'no value');
    const neither = find(JSON.parse((await s.cli(['doctor', '--json'])).stdout) as Check[], 'provider env').filter((c) => c.status === 'fail');
    assert.deepEqual(neither.map((c) => c.message.startsWith('${env:DOCTOR_ONLY_HERE} (used by envy): ')), [true], 'failing in both: said once, by this shell');
    await s.writeConfig(config);
    assert.equal((await s.cli(['reload'])).exitCode, 0);
  });

  it('host apps run "mcpd": on PATH it is ok; not on PATH, a warning with what to do', async () => {
    const bin = join(s.dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'mcpd'), '#!/bin/sh\n', { mode: 0o755 });
    const on = JSON.parse((await s.cli(['doctor', '--json'], { env: { PATH: `${bin}:${s.env.PATH}` } })).stdout) as Check[];
    assert.deepEqual(find(on, 'command'), [{ subject: 'command', status: 'ok', message: `mcpd is on PATH: ${join(bin, 'mcpd')}` }]);
    const off = JSON.parse((await s.cli(['doctor', '--json'], { env: { PATH: join(s.dir, 'no-bin') } })).stdout) as Check[];
    assert.equal(find(off, 'command')[0]!.status, 'warn');
    assert.equal(find(off, 'command')[0]!.message, 'no mcpd on PATH: a host app whose entry says "command": "mcpd" will not find it');
  });

  it('service units: missing is optional; installed and current is ok; changed since is a warning', async () => {
    const stop = await s.cli(['stop']);
    assert.equal(stop.exitCode, 0);
    assert.deepEqual(find((await doctor()).checks, 'service').map((c) => [c.status, c.fix]), [['info', 'mcpd service install']]);
    assert.equal((await s.cli(['service', 'install'])).exitCode, 0);
    const installed = find((await doctor()).checks, 'service')[0]!;
    assert.equal(installed.status, 'ok');
    const unit = join(s.env.XDG_CONFIG_HOME!, 'systemd', 'user', 'mcpd.service');
    assert.equal(installed.message, `systemd units installed: ${join(s.env.XDG_CONFIG_HOME!, 'systemd', 'user', 'mcpd.socket')}, ${unit}`);
    await writeFile(unit, (await readFile(unit, 'utf8')).replace(/ExecStart=\S+/, 'ExecStart=/old/node'));
    const changed = find((await doctor()).checks, 'service')[0]!;
    assert.equal(changed.status, 'warn');
    assert.match(changed.message, /differ from what this installation would write/);
  });
});
