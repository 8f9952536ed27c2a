/**
 * Every bad input the launch issue names: the message a user sees, the exit code, that no
 * secret value is printed, and that the server was never started.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, type Sandbox, sandbox } from '../helpers/sandbox.js';
import { fixture } from '../helpers/repo.js';

let s: Sandbox;
let marker: string;
const present = `present-${randomBytes(8).toString('hex')}`;

/** A server that, if ever started, leaves a marker file. */
function server(env: Record<string, string>, extra: object = {}): object {
  return { command: process.execPath, args: ['-e', "require('fs').writeFileSync(process.argv[1], '')", marker], env, ...extra };
}

async function runServer(env: Record<string, string>, providers: object = {}, runEnv: Record<string, string> = {}): Promise<CliResult> {
  await s.writeConfig({ mcpServers: { srv: server(env) }, providers: { local: { type: 'local', key: 'file' }, ...providers } });
  return s.cli(['run', '--no-daemon', 'srv'], { env: runEnv });
}

async function notStarted(): Promise<void> {
  await assert.rejects(access(marker), 'the server must not have been started');
}

function expectFailure(result: CliResult, exitCode: number, ...fragments: Array<string | RegExp>): void {
  assert.equal(result.exitCode, exitCode, `exit code (stderr: ${result.stderr})`);
  assert.ok(result.stderr.startsWith('mcpd: '), result.stderr);
  for (const f of fragments) {
    if (typeof f === 'string') assert.ok(result.stderr.includes(f), `"${result.stderr}" should include "${f}"`);
    else assert.match(result.stderr, f);
  }
  assert.match(result.stderr, /\n {2}hint: \S/, 'says what to do');
  assert.ok(!result.stderr.includes(present) && !result.stdout.includes(present), 'no secret value printed');
}

describe('mcpd run: bad inputs', () => {
  before(async () => {
    s = await sandbox();
    marker = join(s.dir, 'server-started');
    await s.writeConfig({ providers: { local: { type: 'local', key: 'file' } } });
    const set = await s.cli(['secret', 'set', 'local:present'], { input: present });
    assert.equal(set.exitCode, 0, set.stderr);
  });
  after(() => s.cleanup());

  it('a JSON syntax error: exit 2 with line and column', async () => {
    await writeFile(s.configPath, '{\n  "mcpServers": {\n    "srv": { "command": "x", }\n  }\n}\n');
    expectFailure(await s.cli(['run', '--no-daemon', 'srv']), 2, `${s.configPath}:3:30: JSON syntax error: property name expected`);
  });

  it('an unknown key or a wrong type: exit 2 with the JSON path', async () => {
    await s.writeConfig({ mcpServers: { srv: { ...server({}), evn: {} } } });
    expectFailure(await s.cli(['run', '--no-daemon', 'srv']), 2, 'mcpServers.srv.evn: unknown key "evn"');
    await s.writeConfig({ mcpServers: { srv: { ...server({}), args: 'x' } } });
    expectFailure(await s.cli(['run', '--no-daemon', 'srv']), 2, 'mcpServers.srv.args: expected array');
    await notStarted();
  });

  it('an unknown server: exit 2, listing the known ones', async () => {
    await s.writeConfig({ mcpServers: { srv: server({}), other: server({}) } });
    expectFailure(await s.cli(['run', '--no-daemon', 'nope']), 2, 'no server named "nope" in the config; known servers: other, srv');
  });

  it('an unknown provider: exit 2, naming it and the variable', async () => {
    expectFailure(await runServer({ T: '${vualt:x}' }), 2, 'unknown provider "vualt" in mcpServers.srv.env.T; known providers: ');
    await notStarted();
  });

  it('a malformed reference: exit 2, naming the variable', async () => {
    expectFailure(await runServer({ T: '${local:x' }), 2, 'malformed reference in mcpServers.srv.env.T: ${local:x has no closing }');
    await notStarted();
  });

  it('an unresolvable reference: exit 3, naming it, no value printed, nothing started', async () => {
    const result = await runServer({ OK: '${local:present}', T: '${local:missing/x}' });
    expectFailure(result, 3, 'mcpServers.srv.env.T: ', '${local:missing/x}', 'mcpd secret set local:missing/x');
    await notStarted();
  });

  it('an empty required value: exit 3, unless the variable is optional', async () => {
    await writeFile(join(s.dir, 'empty'), '');
    expectFailure(await runServer({ T: `\${file:${s.dir}/empty}` }), 3, `mcpServers.srv.env.T: \${file:${s.dir}/empty} resolved to an empty value`);
    await notStarted();
  });

  it('the keychain unreachable: exit 3, suggesting the local store', async () => {
    expectFailure(await runServer({ T: '${keychain:svc/acct}' }), 3, '${keychain:svc/acct}', /not reachable/, /local:/);
    await notStarted();
  });

  it('an exec provider that fails, and one that hangs: exit 3 with a clear error', async () => {
    const pass = { type: 'exec', command: [process.execPath, fixture('fake-pass.js'), 'show'], timeout: '500ms' };
    expectFailure(await runServer({ T: '${pass:no/such}' }, { pass }, { FAKE_PASS_DIR: s.dir }), 3, 'exited with status 1: Error: no/such is not in the password store.');
    expectFailure(await runServer({ T: '${pass:hang/x}' }, { pass }), 3, 'did not finish within 500ms');
    await notStarted();
  });

  it('a secret reference in args: exit 2, it would be visible on the command line', async () => {
    await s.writeConfig({ mcpServers: { srv: { ...server({}), args: ['--token=${local:present}'] } } });
    expectFailure(await s.cli(['run', '--no-daemon', 'srv']), 2, 'mcpServers.srv.args[0]: ${local:present} would put a secret on the command line');
  });

  it('--no-daemon for a server with a policy: exit 2 naming each rule, before anything resolves; nothing started', async () => {
    await s.writeConfig({ mcpServers: { srv: server({ T: '${local:missing/y}' }, { tools: { deny: ['get-env'] }, resources: { allow: ['file:///srv/**'] } }) }, providers: { local: { type: 'local', key: 'file' } } });
    const result = await s.cli(['run', '--no-daemon', 'srv']);
    expectFailure(result, 2, 'mcpd run --no-daemon srv: the server has a policy (mcpServers.srv.tools.deny, mcpServers.srv.resources.allow) that only the daemon applies; without it the policy would be skipped, so the server was not started');
    assert.match(result.stderr, /\n {2}hint: run it through the daemon: mcpd run srv \(without --no-daemon\)\n$/);
    await notStarted();
  });

  it('a bad -e flag: exit 2', async () => {
    await s.writeConfig({});
    expectFailure(await s.cli(['run', '-e', 'NOEQUALS', '--', 'true']), 2, '-e NOEQUALS: expected KEY=VALUE');
  });

  it('one of mcpd\'s own credentials handed to a server: exit 2, with -e or in the config, and nothing started', async () => {
    const own = { VAULT_TOKEN: 'vault-canary-7c1e' };
    await s.writeConfig({});
    const adhoc = await s.cli(['run', '-e', 'T=${VAULT_TOKEN}', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], { env: own });
    expectFailure(adhoc, 2, '-e T: ${VAULT_TOKEN} would give the server $VAULT_TOKEN, one of mcpd\'s own credentials');
    await s.writeConfig({ mcpServers: { srv: { ...server({}), inheritEnv: ['VAULT_TOKEN'] } } });
    const configured = await s.cli(['run', '--no-daemon', 'srv'], { env: own });
    expectFailure(configured, 2, 'mcpServers.srv.inheritEnv[0]: "VAULT_TOKEN" would give the server $VAULT_TOKEN');
    for (const result of [adhoc, configured]) assert.ok(!result.stderr.includes(own.VAULT_TOKEN), 'the error names the variable, never its value');
    await notStarted();
  });

  describe('the local store', () => {
    const hash = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
    const storePath = () => join(s.env.XDG_DATA_HOME!, 'mcpd', 'pp-store.json');
    const providers = () => ({ local: { type: 'local', key: 'passphrase', path: storePath() } });

    it('a wrong passphrase: exit 3, refused, the file untouched', async () => {
      await s.writeConfig({ providers: providers() });
      const set = await s.cli(['secret', 'set', 'local:pp'], { input: present, env: { MCPD_STORE_PASSPHRASE: 'right horse battery' } });
      assert.equal(set.exitCode, 0, set.stderr);
      const before = await hash(storePath());
      expectFailure(await runServer({ T: '${local:pp}' }, providers(), { MCPD_STORE_PASSPHRASE: 'wrong horse battery' }), 3, storePath(), /passphrase/i);
      assert.equal(await hash(storePath()), before);
      await notStarted();
    });

    it('a corrupted store file: exit 3, refused, the file untouched', async () => {
      const text = await readFile(storePath(), 'utf8');
      await writeFile(storePath(), text.slice(0, text.length / 2));
      const before = await hash(storePath());
      expectFailure(await runServer({ T: '${local:pp}' }, providers(), { MCPD_STORE_PASSPHRASE: 'right horse battery' }), 3, storePath());
      assert.equal(await hash(storePath()), before);
      await notStarted();
    });
  });
});
