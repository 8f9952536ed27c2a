/** What mcpd migrate makes of a remote entry, as each host app writes one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planServers } from '../../../cli/migrate/plan.js';
import { planRemote } from '../../../cli/migrate/remote-plan.js';
import { parseValue, render } from '../../../providers/reference.js';

const bearer = 'Bearer lin_api_0123456789abcdef';

describe('migrate plan: remote entries', () => {
  it('each host\'s shape: Claude Code and VS Code type "http", Cursor a url alone, Windsurf serverUrl, an sse type', () => {
    const headers = { Authorization: bearer };
    const plans = planServers({
      claude: { type: 'http', url: 'https://mcp.example.com/mcp', headers },
      vscode: { type: 'http', url: 'https://mcp.example.com/mcp', headers },
      streamable: { type: 'streamable-http', url: 'https://mcp.example.com/mcp', headers },
      cursor: { url: 'https://mcp.example.com/mcp', headers },
      windsurf: { serverUrl: 'https://mcp.example.com/mcp', headers },
      legacy: { type: 'sse', url: 'https://mcp.example.com/sse' },
    }, {});
    for (const plan of plans.slice(0, 5)) {
      assert.ok(plan.action === 'migrate', plan.name);
      assert.deepEqual(plan.definition, { url: 'https://mcp.example.com/mcp', headers: { Authorization: `Bearer \${secret:${plan.name}/authorization}` } });
      assert.deepEqual(plan.secrets, [{ variable: 'Authorization', ref: `secret:${plan.name}/authorization`, value: 'lin_api_0123456789abcdef' }]);
    }
    assert.ok(plans[5]!.action === 'migrate');
    assert.deepEqual(plans[5]!.definition, { url: 'https://mcp.example.com/sse', type: 'sse', headers: {} });
  });

  it('refuses what cannot move safely, saying why', () => {
    const why = (server: Record<string, unknown>) => {
      const plan = planRemote('x', server);
      return 'skip' in plan ? plan.skip : 'moved';
    };
    assert.match(why({ url: 'https://user:pw@mcp.example.com/mcp' }), /^its URL carries a user name or password/);
    assert.match(why({ url: 'https://mcp.example.com/mcp?api_key=abc123' }), /^its URL carries a credential/);
    assert.match(why({ url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer ${input:token}' } }), /^its header Authorization uses one of the host app's own variables/);
    assert.match(why({ url: 'ftp://mcp.example.com/' }), /^its URL is a ftp: one/);
    assert.match(why({ url: 'https://mcp.example.com/mcp', type: 'websocket' }), /^its "type" is "websocket"/);
    assert.match(why({ url: 'https://mcp.example.com/mcp', command: 'x' }), /^it has both "command" and a URL/);
    assert.match(why({ type: 'http' }), /^a remote server without a "url" string/);
    assert.match(why({ url: 'https://mcp.example.com/mcp', headers: { A: 1 } }), /^its "headers" is not an object of strings/);
    assert.equal(why({ url: 'https://mcp.example.com/mcp', headers: { 'X-Team': 'platform' } }), 'moved');
  });

  it('a server mcpd already has: the same definition is taken again, a different one is refused', () => {
    const entry = { type: 'http', url: 'https://mcp.example.com/mcp', headers: { Authorization: bearer } };
    const same = planServers({ linear: entry }, { linear: { url: 'https://mcp.example.com/mcp', type: 'http', headers: { Authorization: 'Bearer ${secret:linear/authorization}' } } });
    assert.ok(same[0]!.action === 'migrate' && same[0]!.alreadyInMcpd);
    const other = planServers({ linear: entry }, { linear: { url: 'https://other.example.com/mcp' } });
    assert.ok(other[0]!.action === 'skip');
    assert.match(other[0]!.reason, /already has a server named "linear" that differs/);
  });

  it('property: what mcpd reads back from a planned header, its references resolved, is the header the host sent', () => {
    fc.assert(fc.property(fc.constantFrom('Authorization', 'X-API-Key', 'X-Team', 'Cookie'), fc.constantFrom('', 'Bearer ', 'Basic ', 'Token '), fc.string({ minLength: 1 }).filter((v) => !v.includes('${')), (header, scheme, rest) => {
      const value = `${scheme}${rest}`;
      const plan = planRemote('srv', { url: 'https://mcp.example.com/mcp', headers: { [header]: value } });
      if ('skip' in plan) return;
      const stored = new Map(plan.secrets.map((s) => [s.ref, s.value]));
      const segments = parseValue(plan.definition.headers[header]!, 'h');
      assert.equal(render(segments, (ref) => stored.get(`${ref.provider}:${ref.path}`)!), value);
      // A moved header keeps only its scheme as a literal: the rest of the value is in the store alone.
      const literals = segments.map((s) => ('literal' in s ? s.literal : '')).join('');
      if (plan.secrets.length) assert.equal(literals, value.slice(0, value.length - plan.secrets[0]!.value.length));
    }), { numRuns: 500 });
  });
});
