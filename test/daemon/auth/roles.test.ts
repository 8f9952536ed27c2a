/**
 * A subject's rights through its roles, compiled from a parsed config: grants by server glob
 * (union), a deny always winning (a property, whatever the grants), read access only for
 * readOnlyHint tools, a launch scope standing for a grant of everything, and who may open a
 * session at all, with the messages a user sees.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { McpdError } from '../../../core/errors.js';
import { requireLaunch } from '../../../daemon/auth/launch.js';
import { RoleBook } from '../../../daemon/auth/roles.js';
import { OWNER, type Principal } from '../../../daemon/auth/scopes.js';
import { configSchema } from '../../../daemon/config/schema.js';
import { compilePolicy, deniedRequest, denialError, filterList, policyJudge } from '../../../daemon/policy/policy.js';

const token = (roles: string[], scopes: string[] = []): Principal => ({ kind: 'token', subject: 'token:ci', name: 'ci', source: 'config', scopes, roles });
const user = (roles: string[]): Principal => ({ kind: 'forwarded', subject: 'user:ann', user: 'ann', groups: [], roles });

function book(roles: unknown): RoleBook {
  return new RoleBook(configSchema.parse({ roles }).roles);
}

const tools = (...names: Array<[string, boolean]>) => ({ tools: names.map(([name, readOnlyHint]) => ({ name, annotations: { readOnlyHint } })) });
const call = (name: string) => ['tools/call', { name }] as const;

describe('role rights', () => {
  const roles = book({
    reader: { grants: [{ server: 'git*', tools: ['get_*', 'list_*'], access: 'read' }] },
    writer: { grants: [{ server: 'github', tools: ['push_*'] }] },
    nodelete: { denies: [{ server: '*', tools: ['*delete*'] }, { server: 'github', prompts: ['internal-*'] }] },
    other: { grants: [{ server: 'linear' }] },
    banned: { grants: [{ server: '*' }], denies: [{ server: 'vault' }] },
  });

  it('lists only what some role grants on the server, read-only tools for a read grant', () => {
    const rights = roles.rightsOn(token(['reader', 'writer']), 'github')!;
    const readOnly = new Set<string>();
    const listed = tools(['get_issue', true], ['get_secret', false], ['list_repos', true], ['push_files', false], ['fork', false]);
    const { result } = filterList([rights.judge], 'tools/list', listed, readOnly);
    assert.deepEqual((result as typeof listed).tools.map((t) => t.name), ['get_issue', 'list_repos', 'push_files']);
    assert.deepEqual([...readOnly].sort(), ['get_issue', 'list_repos']);
    assert.equal(deniedRequest([rights.judge], ...call('get_issue'), readOnly), undefined);
    assert.equal(deniedRequest([rights.judge], ...call('push_files'), readOnly), undefined);
    const write = deniedRequest([rights.judge], ...call('get_secret'), readOnly)!;
    assert.equal(write.rule, 'roles.reader.grants[0].access');
    assert.equal(JSON.parse(denialError(7, write)).error.message, 'mcpd policy: tool "get_secret" is denied: it is not annotated readOnlyHint, and roles.reader.grants[0] grants read access only; the request was not passed to the server');
    const none = deniedRequest([rights.judge], ...call('fork'), readOnly)!;
    assert.equal(none.rule, 'roles');
    assert.match(JSON.parse(denialError(8, none)).error.message, /tool "fork" is denied: it is in no grant of the roles of token:ci \(reader, writer\) on this server/);
    // No prompts list in the grants: every prompt; a read grant does not narrow prompts or resources.
    assert.equal(deniedRequest([rights.judge], 'prompts/get', { name: 'anything' }, readOnly), undefined);
    assert.equal(deniedRequest([rights.judge], 'resources/read', { uri: 'file:///x' }, readOnly), undefined);
  });

  it('a deny wins over any grant, and names its rule and pattern', () => {
    const rights = roles.rightsOn(token(['writer', 'nodelete'], ['launch:github']), 'github')!;
    const denial = deniedRequest([rights.judge], ...call('delete_repo'), new Set())!;
    assert.deepEqual(denial, { kind: 'tools', name: 'delete_repo', rule: 'roles.nodelete.denies[0].tools', pattern: '*delete*' });
    assert.equal(deniedRequest([rights.judge], 'prompts/get', { name: 'internal-x' }, new Set())?.rule, 'roles.nodelete.denies[1].prompts');
    // The launch scope stands for a grant of everything, under the denies.
    assert.equal(deniedRequest([rights.judge], ...call('fork'), new Set()), undefined);
  });

  it('a deny wins whatever the grants (property)', () => {
    const name = fc.stringMatching(/^[a-z_]{1,8}$/);
    const grant = fc.record({ server: fc.constantFrom('*', 'srv', 's*'), tools: fc.option(fc.array(fc.oneof(name, fc.constant('*')), { maxLength: 3 }), { nil: undefined }), access: fc.constantFrom('read', 'write') });
    fc.assert(fc.property(fc.array(grant, { maxLength: 4 }), name, fc.boolean(), fc.boolean(), (grants, tool, readOnly, scope) => {
      const b = book({ a: { grants }, b: { denies: [{ server: 's*', tools: [tool] }] } });
      const rights = b.rightsOn(token(['a', 'b'], scope ? ['launch:srv'] : []), 'srv')!;
      const denial = deniedRequest([rights.judge], ...call(tool), new Set(readOnly ? [tool] : []));
      assert.equal(denial?.rule, 'roles.b.denies[0].tools');
      const listed = filterList([rights.judge], 'tools/list', tools([tool, readOnly])).result as ReturnType<typeof tools>;
      assert.deepEqual(listed.tools, []);
    }));
  });

  it('a grant is passed exactly when some grant on the server names it and its access allows it (property)', () => {
    const name = fc.constantFrom('get_a', 'get_b', 'push_a', 'x');
    const grant = fc.record({ server: fc.constantFrom('srv', 'other', '*'), tools: fc.option(fc.array(fc.constantFrom('get_*', 'push_a', 'x', '*'), { maxLength: 2 }), { nil: undefined }), access: fc.constantFrom('read' as const, 'write' as const) });
    fc.assert(fc.property(fc.array(grant, { maxLength: 4 }), name, fc.boolean(), (grants, tool, readOnly) => {
      const rights = book({ a: { grants } }).rightsOn(user(['a']), 'srv')!;
      const matches = (p: string) => p === '*' || p === tool || (p === 'get_*' && tool.startsWith('get_'));
      const expected = grants.some((g) => g.server !== 'other' && (g.tools === undefined || g.tools.some(matches)) && (g.access === 'write' || readOnly));
      assert.equal(deniedRequest([rights.judge], ...call(tool), new Set(readOnly ? [tool] : [])) === undefined, expected);
    }));
  });

  it('a server policy still applies under the roles: a request passes both', () => {
    const rights = roles.rightsOn(token(['writer']), 'github')!;
    const policy = compilePolicy({ tools: { deny: ['push_force'] } }, 'mcpServers.github');
    const both = [policyJudge(policy), rights.judge];
    assert.equal(deniedRequest(both, ...call('push_force'), new Set())?.rule, 'mcpServers.github.tools.deny');
    assert.equal(deniedRequest(both, ...call('push_files'), new Set()), undefined);
  });

  it('the owner, and a launch scope without a deny, are not restricted at all', () => {
    assert.equal(roles.rightsOn(OWNER, 'github'), undefined);
    assert.equal(roles.rightsOn(token([], ['launch:*']), 'github'), undefined);
    assert.equal(roles.rightsOn(token(['reader'], ['admin']), 'github'), undefined);
  });
});

describe('role rights on resources', () => {
  const rolesOf = book({
    fs: { grants: [{ server: 'fs', resources: ['file:///srv/**'] }], denies: [{ server: 'fs', resources: ['file:///srv/secret/**'] }] },
  });
  const rights = rolesOf.rightsOn(user(['fs']), 'fs')!;
  const read = (uri: string) => deniedRequest([rights.judge], 'resources/read', { uri }, new Set());

  it('judge a URI in the canonical form the server policy uses: every spelling of a denied path is denied', () => {
    for (const uri of ['file:///srv/secret/key', 'file:///srv/public/../secret/key', 'FILE:///srv/%73ecret/key', 'file://localhost/srv/secret/key', 'file:////srv//secret/key']) {
      assert.equal(read(uri)?.rule, 'roles.fs.denies[0].resources', uri);
    }
    assert.equal(read('file:///srv/public/a'), undefined);
    assert.equal(read('file:///etc/passwd')?.rule, 'roles.fs.grants');
    // An encoded slash cannot be judged: refused, saying why.
    const odd = read('file:///srv/public/..%2Fsecret/key')!;
    assert.match(JSON.parse(denialError(1, odd)).error.message, /holds an encoded "\/", "\\" or NUL in its path/);
  });

  it('decide exactly as a server policy with the same allow and deny lists (property)', () => {
    const policy = compilePolicy({ resources: { allow: ['file:///srv/**'], deny: ['file:///srv/secret/**'] } }, 'mcpServers.fs');
    const segment = fc.constantFrom('srv', 'secret', '..', '.', '%2e%2E', '%73ecret', 'SRV', 'a', '', '%2F', 'etc');
    const uri = fc.tuple(fc.constantFrom('file://', 'FILE://', 'file://localhost', 'file://LOCALHOST'), fc.array(segment, { minLength: 1, maxLength: 5 }))
      .map(([scheme, parts]) => `${scheme}/${parts.join('/')}`);
    fc.assert(fc.property(uri, (u) => {
      const byPolicy = deniedRequest(policy, 'resources/read', { uri: u }, new Set()) !== undefined;
      assert.equal(read(u) !== undefined, byPolicy, u);
    }), { numRuns: 500 });
  });
});

describe('requireLaunch', () => {
  const roles = book({
    gh: { grants: [{ server: 'git*', tools: ['get_*'], access: 'read' }] },
    banned: { grants: [{ server: '*' }], denies: [{ server: 'vault' }] },
  });
  const refusal = (principal: Principal, server: string) => {
    try {
      requireLaunch(principal, server, roles, '/c.json');
    } catch (error) {
      assert.ok(error instanceof McpdError && error.code === 'SCOPE_MISSING', String(error));
      return error;
    }
    return undefined;
  };

  it('admits a grant by glob, a launch scope, and the owner', () => {
    assert.equal(refusal(user(['gh']), 'github'), undefined);
    assert.equal(refusal(token([], ['launch:linear']), 'linear'), undefined);
    assert.equal(refusal(OWNER, 'anything'), undefined);
  });

  it('refuses a grant on another server, naming the subject, its roles, the server and the fix', () => {
    const e = refusal(user(['gh']), 'linear')!;
    assert.equal(e.message, 'user:ann may not open a session to "linear": its roles (gh) grant nothing on it');
    assert.equal(e.hint, 'add a grant on it to one of its roles in /c.json ("grants": [{"server": "linear"}])');
    const t = refusal(token(['gh']), 'linear')!;
    assert.equal(t.message, 'token "ci" may not open a session to "linear": its roles (gh) grant nothing on it, and it lacks the scope launch:linear');
    assert.match(t.hint!, /, or give it the scope launch:linear$/);
    assert.equal(refusal({ kind: 'anonymous', subject: 'anonymous', roles: [] }, 'github')!.message, 'anonymous may not open a session to "github": it holds no role');
  });

  it('a token without roles gets the scope refusal it always got', () => {
    assert.equal(refusal(token([], ['status:read']), 'github')!.message, 'token "ci" lacks the scope launch:github needed for a session to "github"');
  });

  it('a deny of the whole server refuses it, even with launch:*', () => {
    assert.equal(refusal(token(['banned'], ['launch:*']), 'vault')!.message, 'token "ci" may not open a session to "vault": roles.banned.denies[0] denies that server whole');
    assert.equal(refusal(token(['banned']), 'github'), undefined);
  });
});
