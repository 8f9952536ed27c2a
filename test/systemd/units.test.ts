/**
 * `mcpd service install` and the units it writes, checked by systemd's own parser
 * (`systemd-analyze verify --user`): an unknown key or a path systemd cannot read is only a
 * warning there, with exit 0, so the test asserts that it prints nothing at all.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { parse as parsePlist } from 'plist';
import { McpdError } from '../../core/errors.js';
import { stateDir } from '../../core/paths.js';
import { planService } from '../../cli/commands/service.js';
import { cliMain, repoRoot } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

/** undefined when `tool` runs here; else why the tests that need it skip (a failure under MCPD_REQUIRE_SYSTEMD=1, as in CI). */
async function systemdSkipReason(tool: string): Promise<string | undefined> {
  if ((await execa(tool, ['--version'], { reject: false })).exitCode === 0) return undefined;
  const reason = `${tool} is not installed here (as root: apt-get install -y systemd)`;
  if (process.env.MCPD_REQUIRE_SYSTEMD === '1') throw new Error(`MCPD_REQUIRE_SYSTEMD=1 but ${reason}`);
  return reason;
}

const noAnalyze = await systemdSkipReason('systemd-analyze');
const MOVED = (socket: string) => `next: the service listens on mcpd's default socket, not on ${socket}: unset MCPD_SOCKET (or drop --socket) where host apps run mcpd\n`;
const NEXT = 'next: systemctl --user daemon-reload && systemctl --user enable --now mcpd.socket\n';

/** Everything systemd-analyze says about the installed units; '' when it has no complaint. */
async function verify(s: Sandbox, env: Record<string, string> = {}): Promise<string> {
  const runtime = await mkdtemp(join(tmpdir(), 'mcpd-rt-'));
  try {
    const units = join(env.XDG_CONFIG_HOME ?? s.env.XDG_CONFIG_HOME!, 'systemd', 'user');
    const result = await execa('systemd-analyze', ['verify', '--user', join(units, 'mcpd.socket'), join(units, 'mcpd.service')], {
      env: { PATH: s.env.PATH!, HOME: s.env.HOME!, XDG_CONFIG_HOME: s.env.XDG_CONFIG_HOME!, ...env, XDG_RUNTIME_DIR: runtime },
      extendEnv: false,
      reject: false,
      all: true,
    });
    assert.equal(result.exitCode, 0, result.all);
    return result.all;
  } finally {
    await rm(runtime, { recursive: true, force: true });
  }
}

describe('mcpd service install (systemd)', () => {
  let s: Sandbox;
  let units: string;
  before(async () => {
    s = await sandbox();
    units = join(s.env.XDG_CONFIG_HOME!, 'systemd', 'user');
  });
  after(() => s.cleanup());

  it('--dry-run prints both units with their paths and writes nothing', async () => {
    const result = await s.cli(['service', 'install', '--dry-run']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^would write ${units}/mcpd.socket:\\n# The socket host apps`));
    assert.match(result.stdout, /\nListenStream=%t\/mcpd\/mcpd.sock\n/);
    assert.match(result.stdout, new RegExp(`\\nwould write ${units}/mcpd.service:\\n`));
    assert.match(result.stdout, new RegExp(`\\nExecStart=${process.execPath} ${cliMain} --config ${s.configPath} daemon\\n`));
    assert.ok(result.stdout.endsWith(`${NEXT}(dry run: nothing was written)\n`), result.stdout);
    assert.deepEqual(await readdir(s.env.HOME!), [], 'nothing was created in the home folder');
  });

  it('writes both units, every placeholder filled with an absolute path, and says what to run next', async () => {
    const dryRun = JSON.parse((await s.cli(['service', 'install', '--dry-run', '--json'])).stdout) as { files: { path: string; content: string }[] };
    const result = await s.cli(['service', 'install']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `wrote ${units}/mcpd.socket\nwrote ${units}/mcpd.service\n${MOVED(s.env.MCPD_SOCKET!)}next: stop a daemon started by hand first (mcpd stop), then\n${NEXT}`);
    const plain = await s.cli(['service', 'install'], { env: { MCPD_SOCKET: '' } });
    assert.ok(plain.stdout.startsWith(`wrote ${units}/mcpd.socket\nwrote ${units}/mcpd.service\nnext: stop a daemon`), plain.stdout);
    const service = await readFile(join(units, 'mcpd.service'), 'utf8');
    assert.doesNotMatch(service, /@[A-Z_]+@/);
    assert.match(service, /\nLimitCORE=0\n/, 'no core dump holds the secrets in the daemon\'s memory');
    assert.match(service, new RegExp(`\\nReadWritePaths=-${s.env.XDG_DATA_HOME}/mcpd -${s.env.XDG_STATE_HOME}/mcpd -%t/mcpd `));
    for (const file of dryRun.files) assert.equal(await readFile(file.path, 'utf8'), file.content, `--dry-run showed what install wrote to ${file.path}`);
    assert.deepEqual(await readdir(join(s.env.XDG_STATE_HOME!)), ['mcpd'], 'the state folder is made beforehand: ProtectSystem=strict would not let the daemon make it');
  });

  it('systemd-analyze verify --user says nothing about the installed units', { skip: noAnalyze }, async () => {
    assert.equal(await verify(s), '');
  });

  it('a home and a PATH with spaces are quoted so that systemd reads them whole', { skip: noAnalyze }, async () => {
    const home = join(s.dir, 'my home');
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, 'data'), XDG_STATE_HOME: join(home, 'state 100%'), MCPD_CONFIG: join(home, 'config.json'), PATH: `${s.env.PATH}:/opt/My Tools/bin` };
    const result = await s.cli(['service', 'install'], { env });
    assert.equal(result.exitCode, 0, result.stderr);
    const service = await readFile(join(home, '.config', 'systemd', 'user', 'mcpd.service'), 'utf8');
    assert.match(service, new RegExp(`\\nExecStart=${process.execPath} ${cliMain} --config "${home}/config.json" daemon\\n`));
    assert.match(service, /XDG_STATE_HOME=".*\/my home\/state 100%%" /);
    // A path systemd misread (a stray quote, a lost half) would be "not absolute": a warning here.
    assert.equal(await verify(s, env), '');
  });

  it('a folder it cannot write: exit 2 naming the path', async () => {
    const file = join(s.dir, 'not-a-folder');
    await writeFile(file, '');
    const result = await s.cli(['service', 'install'], { env: { XDG_CONFIG_HOME: file } });
    assert.equal(result.exitCode, 2);
    assert.equal(result.stderr, `mcpd: cannot write ${file}/systemd/user (ENOTDIR)\n  hint: make that folder yours and writable, or see what would be written with mcpd service install --dry-run\n`);
  });

  it('a path with a $ (systemd would expand it): exit 2 naming the path, nothing written', async () => {
    const config = join(s.dir, '$HOME', 'config.json');
    const result = await s.cli(['service', 'install'], { env: { MCPD_CONFIG: config, XDG_CONFIG_HOME: join(s.dir, 'dollar') } });
    assert.equal(result.exitCode, 2);
    assert.equal(result.stderr, `mcpd: the path "${config}" holds a $ or a control character, which a systemd unit cannot carry\n  hint: move it to a path without $, or set MCPD_CONFIG / XDG_* to one\n`);
    await assert.rejects(readdir(join(s.dir, 'dollar')), { code: 'ENOENT' });
  });
});

describe('mcpd service install (other platforms)', () => {
  const env = { HOME: '/Users/a&b', PATH: '/opt/x&y/bin:/usr/bin', MCPD_CONFIG: '/Users/a&b/cfg <1>.json' };

  it('macOS: a launchd agent in ~/Library/LaunchAgents that a plist parser reads back to the values given', async () => {
    const plan = await planService('darwin', env);
    assert.equal(plan.manager, 'launchd');
    const [agent] = plan.files;
    assert.equal(agent?.path, '/Users/a&b/Library/LaunchAgents/com.mcpd.daemon.plist');
    assert.doesNotMatch(agent.content, /@[A-Z_]+@/);
    // plutil is macOS-only: the plist package parses the XML as launchd would, entities and all.
    assert.deepEqual(parsePlist(agent.content), {
      Label: 'com.mcpd.daemon',
      ProgramArguments: [process.execPath, cliMain, '--config', '/Users/a&b/cfg <1>.json', 'daemon'],
      EnvironmentVariables: { PATH: [...new Set([dirname(process.execPath), '/opt/x&y/bin', '/usr/bin'])].join(':') },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      Umask: 0o077,
      StandardErrorPath: join(stateDir(env), 'launchd.log'),
    });
    assert.match(plan.next.at(-1)!, /^launchctl bootstrap gui\/\$\(id -u\) '\/Users\/a&b\/Library\/LaunchAgents\/com.mcpd.daemon.plist'$/);
  });

  it('the shipped plist template parses, each placeholder a whole string', async () => {
    const parsed = parsePlist(await readFile(join(repoRoot, 'systemd', 'com.mcpd.daemon.plist'), 'utf8')) as Record<string, unknown>;
    assert.equal(parsed.Label, 'com.mcpd.daemon');
    assert.deepEqual(parsed.ProgramArguments, ['@NODE@', '@MCPD@', '--config', '@CONFIG@', 'daemon']);
    assert.deepEqual(parsed.EnvironmentVariables, { PATH: '@PATH@' });
    assert.equal(parsed.StandardErrorPath, '@STATE_DIR@/launchd.log');
  });

  it('Windows: a usage error that says what to do instead', async () => {
    await assert.rejects(planService('win32', env), (error: McpdError) => {
      assert.equal(error.code, 'USAGE');
      assert.equal(error.message, 'mcpd service install knows systemd (Linux) and launchd (macOS), not win32');
      assert.match(error.hint ?? '', /mcpd start/);
      return true;
    });
  });
});
