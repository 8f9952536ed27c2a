import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { loadConfig, parseConfig } from '../../../daemon/config/load.js';

const FILE = '/home/u/.config/mcpd/config.json';

function fails(text: string, code: string, ...fragments: string[]): McpdError {
  let caught: unknown;
  try {
    parseConfig(text, FILE);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof McpdError, `expected an McpdError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.startsWith(FILE), `names the file: ${caught.message}`);
  for (const fragment of fragments) assert.ok(caught.message.includes(fragment), `"${caught.message}" should include "${fragment}"`);
  assert.ok(caught.hint, 'says what to do');
  return caught;
}

const server = (body: object) => JSON.stringify({ mcpServers: { github: { command: 'npx', ...body } } });

describe('config loading', () => {
  it('accepts the mcpServers shape and fills defaults', () => {
    const config = parseConfig(server({ args: ['-y', 'x'], env: { T: '${secret:github/pat}' } }), FILE);
    const github = config.mcpServers.github!;
    assert.deepEqual(github.args, ['-y', 'x']);
    assert.equal(github.inheritEnv, false);
    assert.deepEqual(github.optional, []);
  });

  it('a JSON syntax error gives line and column', () => {
    const error = fails('{\n  "mcpServers": {\n    "a": { "command": "x", }\n  }\n}', 'CONFIG_SYNTAX', `${FILE}:3:28:`, 'JSON syntax error');
    assert.match(error.hint!, /line and column/);
  });

  it('an unknown key names its JSON path', () => {
    fails(server({ enviroment: {} }), 'CONFIG_INVALID', 'mcpServers.github.enviroment: unknown key "enviroment"');
    fails(JSON.stringify({ mcpServer: {} }), 'CONFIG_INVALID', 'mcpServer: unknown key "mcpServer"');
  });

  it('a wrong type names its JSON path and what was expected', () => {
    fails(server({ args: '-y x' }), 'CONFIG_INVALID', 'mcpServers.github.args: expected array');
    fails(server({ env: { T: 5 } }), 'CONFIG_INVALID', 'mcpServers.github.env.T: expected string');
    fails(server({ ttl: 'soon' }), 'CONFIG_INVALID', 'mcpServers.github.ttl: expected a duration');
  });

  it('an empty duration or schedule is a config error naming its path, not a crash', () => {
    fails(server({ ttl: '' }), 'CONFIG_INVALID', 'mcpServers.github.ttl: expected a duration such as "30s", "8h" or "90d"');
    fails(JSON.stringify({ rotation: { 'a/b': { strategy: 'remind', every: '' } } }), 'CONFIG_INVALID', 'rotation.a/b.every: expected a duration such as "90d" or a cron expression');
    fails(JSON.stringify({ rotation: { 'a/b': { strategy: 'generate', every: '1d', grace: '' } } }), 'CONFIG_INVALID', 'rotation.a/b.grace: expected a duration');
  });

  it('a Vault provider with an unknown auth method names the path and the methods there are', () => {
    fails(JSON.stringify({ providers: { vault: { type: 'vault', auth: { method: 'ldap' } } } }), 'CONFIG_INVALID',
      'providers.vault.auth.method: unknown auth method; expected "token" or "approle"');
  });

  it('a provider whose token refers to itself, directly or through another provider, is a reference loop', () => {
    fails(JSON.stringify({ providers: { op: { type: '1password', serviceAccountToken: '${op://Private/mcpd/token}' } } }), 'CONFIG_INVALID',
      'providers.op.serviceAccountToken: ${op://Private/mcpd/token} makes a reference loop (op → op)');
    fails(JSON.stringify({
      providers: {
        vault: { type: 'vault', auth: { method: 'token', token: '${op://Private/vault/token}' } },
        op: { type: '1password', serviceAccountToken: '${vault:secret/data/op#token}' },
      },
    }), 'CONFIG_INVALID', 'makes a reference loop (vault → op → vault)');
  });

  it('rotation: an unknown strategy, a bad schedule, a store that cannot take a new version, each named by its path', () => {
    const rotation = (body: object) => JSON.stringify({ rotation: body });
    fails(rotation({ 'api/key': { strategy: 'shuffle', every: '90d' } }), 'CONFIG_INVALID', 'rotation.api/key.strategy: unknown strategy; expected "remind", "generate", "command" or "vault"');
    fails(rotation({ 'api/key': { strategy: 'generate', every: 'quarterly' } }), 'CONFIG_INVALID', 'rotation.api/key.every: expected a duration such as "90d" or a cron expression');
    fails(rotation({ 'env:API_KEY': { strategy: 'generate', every: '90d' } }), 'CONFIG_INVALID', 'rotation.env:API_KEY: strategy "generate" needs a store mcpd can write a new version to, and "env" is a provider of type env');
    fails(rotation({ 'secret:db': { strategy: 'vault', every: '12h' } }), 'CONFIG_INVALID', 'rotation.secret:db: strategy "vault" needs a Vault provider');
    fails(rotation({ 'nosuch:x': { strategy: 'remind', every: '90d' } }), 'PROVIDER_UNKNOWN', 'unknown provider "nosuch" in rotation.nosuch:x');
    fails(rotation({ 'api/key': { strategy: 'command', every: '90d', command: [] } }), 'CONFIG_INVALID', 'rotation.api/key.command: expected the command as a list');
    fails(rotation({ 'api/key': { strategy: 'generate', every: '0 3 1 * banana' } }), 'CONFIG_INVALID', 'rotation.api/key.every: "0 3 1 * banana" is not a cron expression');
  });

  it('an unknown provider type lists the known ones', () => {
    fails(JSON.stringify({ providers: { p: { type: 'lastpass' } } }), 'CONFIG_INVALID', 'providers.p.type: unknown provider type "lastpass"', 'known types: env, file');
    fails(JSON.stringify({ providers: { p: { type: 'exec', command: 'pass show' } } }), 'CONFIG_INVALID', 'providers.p.command');
  });

  it('a reference to an unknown provider names the variable and the known providers', () => {
    fails(server({ env: { T: '${pss:github/pat}' } }), 'PROVIDER_UNKNOWN', 'unknown provider "pss" in mcpServers.github.env.T', 'known providers: credential, env, file, keychain, local, op, secret, vault');
  });

  it('a reference to a configured provider is accepted', () => {
    const text = JSON.stringify({ mcpServers: { a: { command: 'x', env: { T: '${pass:a/b}' } } }, providers: { pass: { type: 'exec', command: ['pass', 'show'] } } });
    assert.equal(parseConfig(text, FILE).providers.pass?.type, 'exec');
  });

  it('a malformed reference names the variable', () => {
    fails(server({ env: { T: 'Bearer ${secret:github/pat' } }), 'REF_MALFORMED', 'malformed reference in mcpServers.github.env.T', 'has no closing }');
  });

  it('refuses a secret reference on the command line, allows an environment one', () => {
    fails(server({ args: ['--token', '${secret:github/pat}'] }), 'CONFIG_INVALID', 'mcpServers.github.args[1]: ${secret:github/pat} would put a secret on the command line');
    assert.ok(parseConfig(server({ args: ['--root', '${HOME}/src'] }), FILE));
  });

  it('optional must name a variable of env', () => {
    fails(server({ env: { A: 'x' }, optional: ['B'] }), 'CONFIG_INVALID', 'mcpServers.github.optional: "B" is not a key of mcpServers.github.env');
  });

  describe('files', () => {
    let dir: string;
    after(() => rm(dir, { recursive: true, force: true }));
    it('a missing file is an error only when required', async () => {
      dir = await mkdtemp(join(tmpdir(), 'mcpd-config-'));
      const missing = join(dir, 'nope.json');
      assert.equal((await loadConfig(missing, { required: false })).exists, false);
      await assert.rejects(loadConfig(missing, { required: true }), (e: unknown) => e instanceof McpdError && e.code === 'CONFIG_NOT_FOUND' && e.message === `no config file at ${missing}`);
      const present = join(dir, 'config.json');
      await writeFile(present, server({}));
      assert.equal((await loadConfig(present, { required: true })).config.mcpServers.github?.command, 'npx');
    });
  });
});
