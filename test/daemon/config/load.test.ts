import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { McpdError } from '../../../core/errors.js';
import { loadConfig, parseConfig } from '../../../daemon/config/load.js';
import type { LocalServerConfig } from '../../../daemon/config/schema.js';

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
    const github = config.mcpServers.github as LocalServerConfig;
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
    // ms throws on "": found by the property below, it was an Error without the file or the path.
    fails(server({ ttl: '' }), 'CONFIG_INVALID', 'mcpServers.github.ttl: expected a duration');
  });

  it('socket.listen: a TCP entry\'s allowedHosts are host names without a port', () => {
    const ok = parseConfig(JSON.stringify({ socket: { listen: [{ port: 7311, allowedHosts: ['host.docker.internal'] }] } }), FILE);
    assert.deepEqual(ok.socket.listen, [{ host: '127.0.0.1', port: 7311, allowedHosts: ['host.docker.internal'], auth: [{ type: 'bearer' }] }]);
    fails(JSON.stringify({ socket: { listen: [{ port: 7311, allowedHosts: ['host.docker.internal:7311'] }] } }), 'CONFIG_INVALID', 'expected a host name without a port, such as "host.docker.internal"');
  });

  it('an empty duration or schedule is a config error naming its path, not a crash', () => {
    fails(server({ ttl: '' }), 'CONFIG_INVALID', 'mcpServers.github.ttl: expected a duration such as "30s", "8h" or "90d"');
    fails(JSON.stringify({ rotation: { 'a/b': { strategy: 'remind', every: '' } } }), 'CONFIG_INVALID', 'rotation.a/b.every: expected a duration such as "90d" or a cron expression');
    fails(JSON.stringify({ rotation: { 'a/b': { strategy: 'generate', every: '1d', grace: '' } } }), 'CONFIG_INVALID', 'rotation.a/b.grace: expected a duration');
  });

  it('a Vault provider with an unknown or missing auth method names the path, the method given and the methods there are', () => {
    const vault = (auth: unknown) => JSON.stringify({ providers: { vault: { type: 'vault', auth } } });
    assert.equal(fails(vault({ method: 'ldap' }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nproviders.vault.auth.method: unknown Vault auth method "ldap"; expected one of token, approle`);
    assert.equal(fails(vault({ roleId: 'r', secretId: 's' }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nproviders.vault.auth.method: missing Vault auth method; expected one of token, approle`);
    assert.equal(fails(vault('token'), 'CONFIG_INVALID').message, `${FILE}: invalid config\nproviders.vault.auth: expected Vault auth settings such as {"method": "token"}, got a string`);
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
    fails(rotation({ 'api/key': { strategy: 'shuffle', every: '90d' } }), 'CONFIG_INVALID', 'rotation.api/key.strategy: unknown rotation strategy "shuffle"; expected one of remind, generate, command, vault');
    fails(rotation({ 'api/key': { every: '90d' } }), 'CONFIG_INVALID', 'rotation.api/key.strategy: missing rotation strategy; expected one of remind, generate, command, vault');
    fails(rotation({ 'api/key': '90d' }), 'CONFIG_INVALID', 'rotation.api/key: expected a rotation such as {"strategy": "remind", "every": "90d"}, got a string');
    fails(rotation({ 'api/key': { strategy: 'generate', every: '90d', encoding: 'base32' } }), 'CONFIG_INVALID', 'rotation.api/key.encoding: unknown encoding "base32"; expected one of hex, base64url');
    fails(rotation({ 'api/key': { strategy: 'generate', every: 'quarterly' } }), 'CONFIG_INVALID', 'rotation.api/key.every: expected a duration such as "90d" or a cron expression');
    fails(rotation({ 'env:API_KEY': { strategy: 'generate', every: '90d' } }), 'CONFIG_INVALID', 'rotation.env:API_KEY: strategy "generate" needs a store mcpd can write a new version to, and "env" is a provider of type env');
    fails(rotation({ 'secret:db': { strategy: 'vault', every: '12h' } }), 'CONFIG_INVALID', 'rotation.secret:db: strategy "vault" needs a Vault provider');
    fails(rotation({ 'nosuch:x': { strategy: 'remind', every: '90d' } }), 'PROVIDER_UNKNOWN', 'unknown provider "nosuch" in rotation.nosuch:x');
    fails(rotation({ 'api/key': { strategy: 'command', every: '90d', command: [] } }), 'CONFIG_INVALID', 'rotation.api/key.command: expected the command as a list');
    fails(rotation({ 'api/key': { strategy: 'generate', every: '0 3 1 * banana' } }), 'CONFIG_INVALID', 'rotation.api/key.every: "0 3 1 * banana" is not a cron expression');
  });

  it('an unknown provider type lists the known ones', () => {
    const types = 'expected one of env, file, credential, keychain, local, secret, vault, 1password, exec';
    assert.equal(fails(JSON.stringify({ providers: { p: { type: 'lastpass' } } }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nproviders.p.type: unknown provider type "lastpass"; ${types}`);
    assert.equal(fails(JSON.stringify({ providers: { p: { command: ['pass', 'show'] } } }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nproviders.p.type: missing provider type; ${types}`);
    assert.equal(fails(JSON.stringify({ providers: { p: { type: 1 } } }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nproviders.p.type: unknown provider type 1; ${types}`);
    assert.equal(fails(JSON.stringify({ providers: { p: { type: 'local', key: 'tpm' } } }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nproviders.p.key: unknown key source "tpm"; expected one of auto, keychain, passphrase, file`);
    fails(JSON.stringify({ providers: { p: { type: 'exec', command: 'pass show' } } }), 'CONFIG_INVALID', 'providers.p.command');
  });

  it('a type that names a member of every object is still an unknown type', () => {
    for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      fails(JSON.stringify({ providers: { p: { type } } }), 'CONFIG_INVALID', `providers.p.type: unknown provider type "${type}"`, 'expected one of env, file');
    }
  });

  it('inheritEnv of neither shape says what it takes; a bad name in the list is named at its index', () => {
    assert.equal(fails(server({ inheritEnv: 'LANG' }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nmcpServers.github.inheritEnv: expected true (all of the caller's environment), false, or a list of variable names such as ["LANG"], got a string`);
    // zod's union said "invalid input" at inheritEnv for a list with a number in it.
    assert.equal(fails(server({ inheritEnv: ['LANG', 7] }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nmcpServers.github.inheritEnv[1]: expected string, received number`);
    assert.equal(fails(server({ inheritEnv: ['LANG', 'MY-VAR'] }), 'CONFIG_INVALID').message, `${FILE}: invalid config\nmcpServers.github.inheritEnv[1]: expected an environment variable name`);
    assert.deepEqual((parseConfig(server({ inheritEnv: ['LANG'] }), FILE).mcpServers.github as LocalServerConfig).inheritEnv, ['LANG']);
    assert.equal((parseConfig(server({ inheritEnv: true }), FILE).mcpServers.github as LocalServerConfig).inheritEnv, true);
  });

  it('a value of no known shape, where it could be a secret, is described by its kind and never quoted', () => {
    const value = 'ghp_Zq8sEcReTvAlUe0123456789';
    const bad = [
      server({ inheritEnv: value }),
      JSON.stringify({ mcpServers: { r: { url: 'https://x.example/mcp', oauth: value } } }),
      JSON.stringify({ socket: { listen: [value] } }),
      JSON.stringify({ socket: { listen: [{ port: 0, auth: [value] }] } }),
      JSON.stringify({ socket: { listen: [{ path: '/run/mcpd/shared.sock', group: [value] }] } }),
      JSON.stringify({ providers: { v: { type: 'vault', auth: value } } }),
      JSON.stringify({ rotation: { 'a/b': value } }),
    ];
    for (const text of bad) {
      const error = fails(text, 'CONFIG_INVALID');
      assert.ok(!error.message.includes(value.slice(0, 8)) && !error.hint!.includes(value.slice(0, 8)), error.message);
    }
  });

  it('a reference to an unknown provider names the variable and the known providers', () => {
    fails(server({ env: { T: '${pss:github/pat}' } }), 'PROVIDER_UNKNOWN', 'unknown provider "pss" in mcpServers.github.env.T', 'known providers: credential, env, file, keychain, local, op, secret, vault');
  });

  it('a reference to a configured provider is accepted', () => {
    const text = JSON.stringify({ mcpServers: { a: { command: 'x', env: { T: '${pass:a/b}' } } }, providers: { pass: { type: 'exec', command: ['pass', 'show'] } } });
    assert.equal(parseConfig(text, FILE).providers.pass?.type, 'exec');
  });

  it('a reference that would hand an exec command an option is refused, with its path', () => {
    const exec = { 'p-x': { type: 'exec', command: ['pass', 'show'] } };
    fails(JSON.stringify({ mcpServers: { a: { command: 'x', env: { T: '${p-x:--version}' } } }, providers: exec }), 'REF_MALFORMED',
      'malformed reference in mcpServers.a.env.T: ${p-x:--version} has a path beginning with "-", which the command of provider "p-x" would take as an option');
    fails(JSON.stringify({ providers: { ...exec, vault: { type: 'vault', auth: { method: 'token', token: '${p-x:-t}' } } } }), 'REF_MALFORMED', 'malformed reference in providers.vault.auth.token: ${p-x:-t}');
    // Not an exec provider, or the environment's own default syntax: accepted as before.
    assert.ok(parseConfig(server({ env: { T: '${secret:-odd/name}', U: '${HOME:-/root}' } }), FILE));
  });

  it('a malformed reference names the variable', () => {
    fails(server({ env: { T: 'Bearer ${secret:github/pat' } }), 'REF_MALFORMED', 'malformed reference in mcpServers.github.env.T', 'has no closing }');
  });

  it('refuses a secret reference on the command line, allows an environment one', () => {
    fails(server({ args: ['--token', '${secret:github/pat}'] }), 'CONFIG_INVALID', 'mcpServers.github.args[1]: ${secret:github/pat} would put a secret on the command line');
    assert.ok(parseConfig(server({ args: ['--root', '${HOME}/src'] }), FILE));
  });

  it('refuses to give a server one of mcpd\'s own credentials, by inheritEnv or by reference', () => {
    const given = 'would give the server $VAULT_TOKEN, one of mcpd\'s own credentials, which no server, helper or hook is given';
    const refused = fails(server({ inheritEnv: ['HTTPS_PROXY', 'VAULT_TOKEN'] }), 'CONFIG_INVALID', `mcpServers.github.inheritEnv[1]: "VAULT_TOKEN" ${given}`);
    assert.match(refused.hint!, /credential of its own: store it \(mcpd secret set PATH\) and set it in the server's "env" as \$\{secret:PATH\}/);
    fails(server({ env: { VAULT_TOKEN: '${VAULT_TOKEN}' } }), 'CONFIG_INVALID', `mcpServers.github.env.VAULT_TOKEN: \${VAULT_TOKEN} ${given}`);
    fails(server({ env: { T: 'Bearer ${env:MCPD_TOKEN}' } }), 'CONFIG_INVALID', 'mcpServers.github.env.T: ${env:MCPD_TOKEN} would give the server $MCPD_TOKEN');
    fails(server({ env: { P: '${MCPD_STORE_PASSPHRASE:-none}' } }), 'CONFIG_INVALID', 'mcpServers.github.env.P: ${MCPD_STORE_PASSPHRASE:-none} would give the server $MCPD_STORE_PASSPHRASE');
    fails(server({ args: ['--token=${OP_SERVICE_ACCOUNT_TOKEN}'] }), 'CONFIG_INVALID', 'mcpServers.github.args[0]: ${OP_SERVICE_ACCOUNT_TOKEN} would give the server $OP_SERVICE_ACCOUNT_TOKEN');
    // An env-type provider of another name reads the same environment.
    fails(JSON.stringify({ mcpServers: { github: { command: 'npx', env: { T: '${shell:VAULT_TOKEN}' } } }, providers: { shell: { type: 'env' } } }), 'CONFIG_INVALID', 'mcpServers.github.env.T: ${shell:VAULT_TOKEN} would give the server $VAULT_TOKEN');
  });

  it('allows mcpd\'s own credentials where mcpd itself uses them, and other variables of the same family', () => {
    const config = parseConfig(JSON.stringify({
      mcpServers: { github: { command: 'npx', env: { VAULT_ADDR: '${VAULT_ADDR}', VAULT_TOKEN: '${secret:github/vault-token}' }, inheritEnv: ['VAULT_ADDR'] } },
      providers: { v: { type: 'vault', auth: { method: 'token', token: '${VAULT_TOKEN}' } } },
    }), FILE);
    assert.ok(config.providers.v);
  });

  it('optional must name a variable of env', () => {
    fails(server({ env: { A: 'x' }, optional: ['B'] }), 'CONFIG_INVALID', 'mcpServers.github.optional: "B" is not a key of mcpServers.github.env');
  });

  /** parseConfig's outcome for `text`: a config, or an McpdError whose message starts with the file; anything else fails. */
  function loadOrExplain(text: string): McpdError | undefined {
    try {
      parseConfig(text, FILE);
      return undefined;
    } catch (error) {
      assert.ok(error instanceof McpdError, `not an McpdError: ${String(error)}`);
      assert.ok(error.message.startsWith(`${FILE}:`), `names the file: ${error.message}`);
      assert.ok(error.hint, `says what to do: ${error.message}`);
      return error;
    }
  }

  it('property: any text is a config or an McpdError naming the file (line and column for JSON syntax)', () => {
    const text = fc.oneof(fc.string({ maxLength: 60 }), fc.json().map((json) => json.slice(0, Math.max(0, json.length - 1))), fc.json());
    fc.assert(fc.property(text, (value) => {
      const error = loadOrExplain(value);
      if (error?.code === 'CONFIG_SYNTAX') assert.match(error.message, /^[^\n]+:\d+:\d+: JSON syntax error/);
    }), { numRuns: 500 });
  });

  it('property: any config-shaped object is a config or an McpdError naming the file and the JSON path', () => {
    const str = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('${secret:a/b}', '${HOME:-x}', '${pass:--v}', '${nosuch:x}', '${', '$${X}', 'op://v/i/f', '${env:1x}'));
    const anyValue = fc.oneof(str, fc.integer(), fc.boolean(), fc.constant(null), fc.array(str, { maxLength: 3 }));
    const server = fc.record({
      command: fc.oneof(str, anyValue), args: fc.oneof(fc.array(str, { maxLength: 3 }), anyValue), env: fc.oneof(fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('TOKEN', '__proto__', 'constructor')), str, { maxKeys: 3 }), anyValue),
      cwd: str, inheritEnv: fc.oneof(fc.boolean(), fc.array(str, { maxLength: 2 })), optional: fc.array(fc.constantFrom('TOKEN', 'X'), { maxLength: 2 }), ttl: str, extra: anyValue,
    }, { requiredKeys: ['command'] });
    const provider = fc.record({ type: fc.constantFrom('exec', 'vault', 'local', '1password', 'nope', 'keychain'), command: fc.array(str, { maxLength: 3 }), timeout: str, auth: fc.record({ method: fc.constantFrom('token', 'approle', 'ldap'), token: str }) }, { requiredKeys: ['type'] });
    const config = fc.record({
      mcpServers: fc.oneof(fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constant('__proto__')), server, { maxKeys: 3 }), anyValue),
      providers: fc.dictionary(fc.constantFrom('pass', 'vault', 'p-x', 'op'), provider, { maxKeys: 2 }),
      rotation: fc.dictionary(str, fc.record({ strategy: fc.constantFrom('remind', 'generate', 'vault', 'x'), every: fc.constantFrom('90d', '0 3 * * *', 'soon') }), { maxKeys: 2 }),
      unknown: anyValue,
    }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(config, anyValue), (value) => {
      const error = loadOrExplain(JSON.stringify(value));
      if (!error) return;
      const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
      assert.ok(keys.some((key) => error.message.includes(key)) || error.message.includes('(top level)'), `names the JSON path: ${error.message}`);
    }), { numRuns: 500 });
  });

  it('property: with any value of a config that has every union swapped for another, no schema error says only "invalid input", and each names a path at or below the swapped value', () => {
    const full = {
      mcpServers: {
        local: { type: 'stdio', command: 'npx', inheritEnv: ['LANG'], env: { T: '${secret:a/b}' } },
        remote: { type: 'http', url: 'https://x.example/mcp', oauth: { clientId: 'mcpd', tokenEndpointAuthMethod: 'none', signingAlgorithm: 'ES256' } },
      },
      providers: { v: { type: 'vault', auth: { method: 'approle', roleId: 'r', secretId: 's' } }, l: { type: 'local', key: 'file' } },
      rotation: { 'a/b': { strategy: 'generate', every: '90d', encoding: 'hex' }, 'a/c': { strategy: 'remind', every: '30d' } },
      roles: { reader: { grants: [{ server: '*', access: 'read' }] } },
      socket: { listen: [{ path: '/run/mcpd/shared.sock', group: 'staff', mode: '660' }, { host: '127.0.0.1', port: 0, auth: [{ type: 'bearer' }, { type: 'none', roles: ['reader'] }, { type: 'oauth', roles: ['reader'] }, { type: 'jwt', issuer: 'https://id.example.com' }] }] },
    };
    parseConfig(JSON.stringify(full), FILE);
    type Path = Array<string | number>;
    const paths = (value: unknown, path: Path = []): Path[] => value === null || typeof value !== 'object'
      ? [path]
      : [...(path.length > 1 ? [path] : []), ...Object.entries(value).flatMap(([k, v]) => paths(v, [...path, Array.isArray(value) ? Number(k) : k]))];
    const near = fc.constantFrom('bearr', 'Bearer', 'stdio', 'http', 'studio', 'read', 'rw', 'vault', 'token', 'remind', '', '/run/x.sock');
    const junk = fc.oneof(near, fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(near, { maxLength: 2 }), fc.dictionary(fc.constantFrom('type', 'path', 'port', 'method', 'strategy', 'x'), near, { maxKeys: 2 }));
    const shown = (path: Path) => path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
    fc.assert(fc.property(fc.constantFrom(...paths(full)), junk, (path, value) => {
      const config = structuredClone(full) as Record<string, unknown>;
      const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], config) as Record<string | number, unknown>;
      parent[path.at(-1)!] = value;
      const error = loadOrExplain(JSON.stringify(config));
      if (!error?.message.startsWith(`${FILE}: invalid config\n`)) return;
      for (const line of error.message.split('\n').slice(1)) {
        assert.doesNotMatch(line, /invalid input/i);
        assert.ok(line.startsWith(shown(path.slice(0, -1))), `names a path at or below ${shown(path.slice(0, -1))}: ${line}`);
      }
    }), { numRuns: 600 });
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
      assert.equal(((await loadConfig(present, { required: true })).config.mcpServers.github as LocalServerConfig).command, 'npx');
    });
  });
});
