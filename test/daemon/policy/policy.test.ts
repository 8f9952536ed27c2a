/**
 * The policy's pure functions, and the config checks: a glob that can never match and an
 * unknown scope are errors with their JSON path; an allow list that hides everything is a warning.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { parseConfig } from '../../../daemon/config/load.js';
import { configWarnings } from '../../../daemon/policy/check.js';
import { compilePolicy, deniedRequest, filterList } from '../../../daemon/policy/policy.js';
import { type Sandbox, sandbox } from '../../helpers/sandbox.js';

const tools = (...names: string[]) => ({ tools: names.map((name) => ({ name, inputSchema: { type: 'object' } })) });
const listed = (result: unknown) => (result as { tools: Array<{ name: string }> }).tools.map((t) => t.name);

describe('policy', () => {
  it('deny wins over allow, globs match names, and the denial names its rule and pattern', () => {
    const policy = compilePolicy({ tools: { allow: ['get_*', 'list_*'], deny: ['get_secret*'] } }, 'mcpServers.gh');
    const { result, hidden } = filterList(policy, 'tools/list', tools('get_issue', 'get_secret_key', 'list_repos', 'push_files'));
    assert.deepEqual(listed(result), ['get_issue', 'list_repos']);
    assert.equal(hidden, 2);
    assert.deepEqual(deniedRequest(policy, 'tools/call', { name: 'get_secret_key' }, new Set()), { kind: 'tools', name: 'get_secret_key', rule: 'mcpServers.gh.tools.deny', pattern: 'get_secret*' });
    assert.deepEqual(deniedRequest(policy, 'tools/call', { name: 'push_files' }, new Set()), { kind: 'tools', name: 'push_files', rule: 'mcpServers.gh.tools.allow' });
    assert.equal(deniedRequest(policy, 'tools/call', { name: 'get_issue' }, new Set()), undefined);
    assert.equal(deniedRequest(policy, 'ping', {}, new Set()), undefined);
  });

  it('a method named like an Object.prototype member is neither a call nor a list (once a TypeError)', () => {
    const policy = compilePolicy({ tools: { allow: ['get_*'] } }, 'mcpServers.gh');
    for (const method of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.equal(deniedRequest(policy, method, { name: 'push_files' }, new Set()), undefined, method);
      const list = tools('push_files');
      assert.deepEqual(filterList(policy, method, list), { result: list, hidden: 0 }, method);
    }
  });

  it('resources match by URI or name, templates by uriTemplate; reads and subscriptions are denied too', () => {
    const policy = compilePolicy({ resources: { deny: ['file:///etc/**', 'private-*'] } }, 'mcpServers.fs');
    const list = { resources: [{ uri: 'file:///etc/passwd', name: 'passwd' }, { uri: 'file:///home/a', name: 'private-notes' }, { uri: 'file:///home/b', name: 'b' }] };
    assert.deepEqual((filterList(policy, 'resources/list', list).result as typeof list).resources.map((r) => r.name), ['b']);
    const templates = { resourceTemplates: [{ uriTemplate: 'file:///etc/{name}', name: 'etc' }, { uriTemplate: 'file:///home/{name}', name: 'home' }] };
    assert.deepEqual((filterList(policy, 'resources/templates/list', templates).result as typeof templates).resourceTemplates.map((r) => r.name), ['home']);
    for (const method of ['resources/read', 'resources/subscribe']) assert.equal(deniedRequest(policy, method, { uri: 'file:///etc/shadow' }, new Set())?.pattern, 'file:///etc/**');
  });

  it('a completion for a hidden prompt or resource template is denied as the list would hide it; other completions pass', () => {
    const policy = compilePolicy({ prompts: { deny: ['internal-*'] }, resources: { deny: ['file:///etc/**'] } }, 'mcpServers.fs');
    const complete = (ref: unknown) => deniedRequest(policy, 'completion/complete', { ref, argument: { name: 'a', value: '' } }, new Set());
    assert.deepEqual(complete({ type: 'ref/prompt', name: 'internal-ops' }), { kind: 'prompts', name: 'internal-ops', rule: 'mcpServers.fs.prompts.deny', pattern: 'internal-*' });
    assert.equal(complete({ type: 'ref/resource', uri: 'file:///etc/{name}' })?.rule, 'mcpServers.fs.resources.deny');
    assert.equal(complete({ type: 'ref/prompt', name: 'public' }), undefined);
    assert.equal(complete({ type: 'ref/resource', uri: 'file:///home/{name}' }), undefined);
    assert.equal(complete(null), undefined);
  });
});

describe('policy and client config checks', () => {
  const config = (extra: object) => JSON.stringify({ mcpServers: { gh: { command: 'x', ...extra } } });
  const fails = (text: string, pattern: RegExp) => assert.throws(() => parseConfig(text, 'c.json'), (e: unknown) => e instanceof McpdError && e.code === 'CONFIG_INVALID' && pattern.test(e.message));

  it('a glob that can never match is an error naming its path', () => {
    fails(config({ tools: { deny: [''] } }), /^c\.json: invalid config\nmcpServers\.gh\.tools\.deny\[0\]: an empty pattern can never match: remove it$/);
    fails(config({ tools: { allow: ['get issue'] } }), /mcpServers\.gh\.tools\.allow\[0\]: "get issue" holds whitespace or a control character, which no tool, prompt or resource name holds: it can never match/);
    fails(config({ prompts: { deny: ['!keep'] } }), /mcpServers\.gh\.prompts\.deny\[0\]: "!keep": negated patterns are not supported/);
  });

  it('an unknown scope is an error naming its path', () => {
    const text = JSON.stringify({ mcpServers: {}, clients: { ide: { tokenSha256: 'a'.repeat(64), scopes: ['status:read', 'launch-github'] } } });
    fails(text, /clients\.ide\.scopes\[1\]: unknown scope "launch-github"; known scopes: launch:NAME, launch:\*, status:read, logs:read, rotate, admin/);
  });

  it('an allow list that hides every tool, a dead allow entry, a URI pattern not in canonical form and a scope for no server are warnings with their path', () => {
    const warnings = (extra: object, clients = {}) => configWarnings(parseConfig(JSON.stringify({ mcpServers: { gh: { command: 'x', ...extra } }, clients }), 'c.json'));
    assert.deepEqual(warnings({ tools: { allow: [] } }), ['mcpServers.gh.tools.allow: an empty allow list hides every tool of this server']);
    assert.deepEqual(warnings({ tools: { deny: ['*'] } }), ['mcpServers.gh.tools.deny: "*" hides every tool of this server']);
    assert.deepEqual(warnings({ tools: { allow: ['push_files'], deny: ['push_*'] } }), [
      'mcpServers.gh.tools.allow[0]: "push_files" is also denied (deny wins), so it never lets anything through',
      'mcpServers.gh.tools.allow: every entry is denied, so the allow list hides every tool of this server',
    ]);
    assert.deepEqual(warnings({}, { ide: { tokenSha256: 'a'.repeat(64), scopes: ['launch:ghost'] } }), ['clients.ide.scopes[0]: launch:ghost names no server in mcpServers']);
    assert.deepEqual(warnings({ tools: { allow: ['get_*'], deny: ['get_secret'] } }), []);
    assert.deepEqual(warnings({ resources: { allow: ['FILE://localhost/srv/**', 'file:///home/{a,b}/**', 'notes-*'], deny: ['file:///srv/../etc/**', 'file:///srv/x/**'] } }), [
      'mcpServers.gh.resources.allow[0]: "FILE://localhost/srv/**" is not a canonical URI, and resource URIs are matched in canonical form: write it "file:///srv/**"',
      'mcpServers.gh.resources.deny[0]: "file:///srv/../etc/**" is not a canonical URI, and resource URIs are matched in canonical form: write it "file:///etc/**"',
    ]);
  });

  it('mcpd config check prints the warnings', async () => {
    const s: Sandbox = await sandbox();
    try {
      await s.writeConfig({ mcpServers: { gh: { command: 'x', tools: { allow: [] } } } });
      const result = await s.cli(['config', 'check']);
      assert.equal(result.exitCode, 0, result.stderr);
      assert.match(result.stdout, /\nwarning: mcpServers\.gh\.tools\.allow: an empty allow list hides every tool of this server\n$/);
    } finally {
      await s.cleanup();
    }
  });
});
