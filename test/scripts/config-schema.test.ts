/**
 * The JSON Schema the build writes (dist/mcpd.schema.json, what `mcpd config schema` prints)
 * against the loader, with Ajv, the validator editors' JSON tooling is built on: a config the
 * loader accepts validates, one it refuses for its shape does not. Refinements (durations, globs,
 * references) are zod's alone, and one test pins that the schema lets them through.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import fc from 'fast-check';
import type { ZodIssue } from 'zod';
import { McpdError } from '../../core/errors.js';
import { parseConfig } from '../../daemon/config/load.js';
import { configSchema } from '../../daemon/config/schema.js';
import { repoRoot } from '../helpers/repo.js';

const schema = JSON.parse(await readFile(join(repoRoot, 'dist', 'mcpd.schema.json'), 'utf8')) as object;
const ajv = new Ajv({ strict: true, allErrors: true });
// ajv-formats is CommonJS with `exports.default`: the function is that, seen from an ES module.
(formats as unknown as { default: (a: Ajv) => void }).default(ajv);
const validate: ValidateFunction = ajv.compile(schema);

const hash = 'a'.repeat(64);

/** Every section and every kind of entry the schema knows, as a config the loader accepts. */
const everything = {
  $schema: './mcpd.schema.json',
  mcpServers: {
    github: {
      type: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'], cwd: '${HOME}',
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: '${secret:github/pat}', EXTRA: '${EXTRA:-x}' },
      inheritEnv: ['LANG'], optional: ['EXTRA'], ttl: '8h', rollover: false, description: 'GitHub',
      tools: { allow: ['get_*'], deny: ['delete_*'], readOnly: true }, prompts: { deny: ['x'] }, resources: { allow: ['file://*'] },
    },
    db: { command: 'mcp-server-postgres', env: { PGPASSWORD: '${vault:database/creds/readonly#password}' }, inheritEnv: true },
  },
  providers: {
    vault: { type: 'vault', address: '${VAULT_ADDR}', namespace: 'team', auth: { method: 'approle', roleId: '${file:/etc/mcpd/role-id}', secretId: '${keychain:vault/secret-id}', mount: 'approle' }, tls: { caFile: '/etc/ca.pem', serverName: 'vault' }, timeout: '5s', cacheTtl: '1m' },
    vt: { type: 'vault', auth: { method: 'token' } },
    op: { type: '1password', serviceAccountToken: '${keychain:1password/sa-token}', cacheTtl: '5m' },
    kc: { type: 'keychain', service: 'work' },
    store: { type: 'local', path: '/tmp/store.json', key: 'passphrase' },
    pass: { type: 'exec', command: ['pass', 'show'], timeout: '3s' },
    e: { type: 'env' }, f: { type: 'file' }, c: { type: 'credential' }, s: { type: 'secret' },
  },
  daemon: { maxMessageBytes: 65536, restart: { initialDelay: '1s', maxDelay: '30s', stableAfter: '10s', maxRestarts: 3 }, rollover: { drainTimeout: '5s' }, audit: { maxBytes: 8192, keep: 2 } },
  rotation: {
    'github/pat': { strategy: 'remind', every: '90d', warnBefore: '7d' },
    'internal/api-key': { strategy: 'generate', every: '0 3 1 * *', apply: ['./register.sh'], revoke: ['./revoke.sh'], grace: '2h', length: 48, encoding: 'base64url' },
    'local:cmd': { strategy: 'command', every: '30d', command: ['./new-key.sh'] },
    'vault:database/creds/readonly': { strategy: 'vault', every: '1d' },
  },
  clients: { ide: { tokenSha256: hash, scopes: ['launch:github', 'status:read'], expires: '2027-01-31T00:00:00Z' } },
  socket: { requireToken: true, listen: [{ path: '/run/mcpd/shared.sock', group: 'staff', mode: '0660' }, { path: '/tmp/x.sock', group: 20 }, { host: '::1', port: 0 }, { port: 7777 }, { port: 7778, publicUrl: 'https://mcp.example.com', auth: [{ type: 'jwt', issuer: 'https://id.example.com', audience: 'https://mcp.example.com/mcp/a', jwksUri: 'https://id.example.com/jwks', rolesClaim: 'groups', scopes: ['mcp'], serverScopes: { a: ['mcp:a'] } }] }] },
};

function loaderAccepts(config: unknown): boolean {
  try {
    parseConfig(JSON.stringify(config), 'config.json');
    return true;
  } catch (error) {
    if (!(error instanceof McpdError)) throw error;
    return false;
  }
}

const schemaAccepts = (config: unknown): boolean => validate(config) === true;
const why = () => ajv.errorsText(validate.errors);

/**
 * Whether zod refused for the shape — a key, a type, a literal, an enum, a bound — which the
 * schema can say too; `custom` issues are refinements (durations, globs, scopes, hosts), which
 * it cannot. A union fails for its shape only when every branch does.
 */
function shapeIssue(issue: ZodIssue): boolean {
  if (issue.code === 'invalid_union') return issue.unionErrors.every((branch) => branch.issues.some(shapeIssue));
  return issue.code !== 'custom';
}

describe('the config\'s JSON Schema', () => {
  it('is JSON Schema draft-07 that says what it leaves to mcpd config check', () => {
    assert.equal((schema as { $schema: string }).$schema, 'http://json-schema.org/draft-07/schema#');
    assert.match((schema as { description: string }).description, /`mcpd config check` also checks durations, policy globs, scopes, cron expressions and references/);
  });

  it('every config of the README and one with every key validate, as the loader accepts them', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('mcpServers') || b.includes('"rotation"'));
    assert.ok(blocks.length >= 3);
    for (const config of [...blocks.map((b) => JSON.parse(b) as unknown), everything, {}]) {
      assert.ok(loaderAccepts(config), JSON.stringify(config));
      assert.ok(schemaAccepts(config), `${why()}\n${JSON.stringify(config)}`);
    }
  });

  const refused: Array<[string, unknown]> = [
    ['an unknown top-level key', { mcpServer: {} }],
    ['an unknown key of a server', { mcpServers: { a: { command: 'x', argz: [] } } }],
    ['args as a string', { mcpServers: { a: { command: 'x', args: '--stdio' } } }],
    ['no command', { mcpServers: { a: { args: [] } } }],
    ['a server name with a space', { mcpServers: { 'my server': { command: 'x' } } }],
    ['an env name with a dash', { mcpServers: { a: { command: 'x', env: { 'MY-TOKEN': 'v' } } } }],
    ['an unknown provider type', { providers: { p: { type: 'lastpass' } } }],
    ['a key of another provider type', { providers: { p: { type: 'keychain', address: 'x' } } }],
    ['an unknown Vault auth method', { providers: { v: { type: 'vault', auth: { method: 'github' } } } }],
    ['an exec command as a string', { providers: { p: { type: 'exec', command: 'pass show' } } }],
    ['an unknown rotation strategy', { rotation: { 'a/b': { strategy: 'often', every: '1d' } } }],
    ['a too-short generated secret', { rotation: { 'a/b': { strategy: 'generate', every: '1d', length: 8 } } }],
    ['a port out of range', { socket: { listen: [{ port: 70000 }] } }],
    ['a listener with both a path and a port', { socket: { listen: [{ path: '/x', port: 1 }] } }],
    // Each value below has its shape picked in code (daemon/config/shapes.ts); the schema shows the union.
    ['a listener with neither a path nor a port', { socket: { listen: [{ mode: '600' }] } }],
    ['a listener as a string', { socket: { listen: ['/x'] } }],
    ['an unknown auth provider type', { socket: { listen: [{ port: 0, auth: [{ type: 'bearr' }] }] } }],
    ['a socket group that is neither a name nor an id', { socket: { listen: [{ path: '/x', group: true }] } }],
    ['inheritEnv as a string', { mcpServers: { a: { command: 'x', inheritEnv: 'LANG' } } }],
    ['oauth as true', { mcpServers: { a: { url: 'https://x.example/mcp', oauth: true } } }],
    ['an unknown OAuth signing algorithm', { mcpServers: { a: { url: 'https://x.example/mcp', oauth: { signingAlgorithm: 'HS256' } } } }],
    ['a grant whose access is neither read nor write', { roles: { r: { grants: [{ server: '*', access: 'rw' }] } } }],
    ['a socket mode that is not octal', { socket: { listen: [{ path: '/x', mode: '999' }] } }],
    ['a token hash that is not SHA-256', { clients: { ide: { tokenSha256: 'abc', scopes: ['admin'] } } }],
    ['an expiry that is not a time', { clients: { ide: { tokenSha256: hash, scopes: ['admin'], expires: 'tomorrow' } } }],
    ['maxMessageBytes as a string', { daemon: { maxMessageBytes: '1MB' } }],
    ['$schema as an object', { $schema: { url: 'x' } }],
  ];
  for (const [what, config] of refused) {
    it(`refuses ${what}, as the loader does`, () => {
      assert.equal(loaderAccepts(config), false);
      assert.equal(schemaAccepts(config), false, 'the schema let it through');
    });
  }

  it('leaves refinements to the loader: a duration, a glob or a reference that does not parse, a client with neither scope nor role, validates', () => {
    const configs = [
      { mcpServers: { a: { command: 'x', ttl: 'soon' } } },
      { mcpServers: { a: { command: 'x', tools: { deny: [''] } } } },
      { mcpServers: { a: { command: 'x', env: { T: '${nope:x}' } } } },
      // A client needs a scope or a role: one refinement over two keys.
      { clients: { ide: { tokenSha256: '0'.repeat(64), scopes: [] } } },
    ];
    for (const config of configs) {
      assert.equal(loaderAccepts(config), false, JSON.stringify(config));
      assert.ok(schemaAccepts(config), why());
    }
  });

  it('property: with any key added anywhere or any value swapped for another type, the schema agrees with the loader on the shape', () => {
    const nodes = objectPaths(everything);
    const junk = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.string(), { maxKeys: 2 }));
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), at: fc.constantFrom(...nodes), key: fc.string({ minLength: 1, maxLength: 8 }), value: junk }),
      fc.record({ kind: fc.constant('swap' as const), at: fc.constantFrom(...leafPaths(everything)), value: junk }),
    );
    fc.assert(fc.property(mutation, (m) => {
      const config = structuredClone(everything) as Record<string, unknown>;
      if (m.kind === 'add') {
        const target = at(config, m.at) as Record<string, unknown>;
        fc.pre(!Array.isArray(target) && !Object.hasOwn(target, m.key) && m.key !== '__proto__');
        target[m.key] = m.value;
      } else {
        const parent = at(config, m.at.slice(0, -1)) as Record<string | number, unknown>;
        parent[m.at.at(-1)!] = m.value;
      }
      const parsed = configSchema.safeParse(config);
      if (loaderAccepts(config)) assert.ok(schemaAccepts(config), `the loader accepts what the schema refuses: ${why()}\n${JSON.stringify(config)}`);
      else if (!parsed.success && parsed.error.issues.some(shapeIssue)) assert.equal(schemaAccepts(config), false, `the schema accepts a shape zod refuses: ${JSON.stringify(parsed.error.issues)}`);
    }), { numRuns: 400 });
  });
});

type Path = Array<string | number>;

/** The path of every object (not array) inside `value` whose keys are names a user picks or the schema fixes. */
function objectPaths(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const inner = Object.entries(value).flatMap(([k, v]) => objectPaths(v, [...path, Array.isArray(value) ? Number(k) : k]));
  return Array.isArray(value) ? inner : [path, ...inner];
}

/** The path of every value below the top level. */
function leafPaths(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return path.length ? [path] : [];
  return [...(path.length ? [path] : []), ...Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...path, Array.isArray(value) ? Number(k) : k]))];
}

function at(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);
}
