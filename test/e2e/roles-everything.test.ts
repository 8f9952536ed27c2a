/**
 * Roles, limits and the audit subject on a real daemon, with the real server-everything driven
 * by the SDK's Client over the WebSocket route (mcpd/client), one config client token per case:
 * a grant by glob with read access (readOnlyHint tools only), a deny winning over a grant, a
 * grant on another server giving nothing here, a server's own policy still applying under a
 * role, a role's session and rate limits (their refusals audited once a minute, counted); then
 * the audit file, each line naming its subject and roles.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { McpdError, mcpdTransport } from '../../client/index.js';
import { rawRequest, startDaemon, waitFor } from '../helpers/daemon.js';
import { serverEnv } from '../helpers/mcp.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const server = (extra: object = {}) => ({ command: process.execPath, args: [everything, 'stdio'], ...extra });

/** A config client: its token, and the SHA-256 the config holds. */
function client(): { token: string; tokenSha256: string } {
  const token = `mcpd_${randomBytes(24).toString('base64url')}`;
  return { token, tokenSha256: createHash('sha256').update(token).digest('hex') };
}

async function failed(call: Promise<unknown>): Promise<McpError> {
  const error = await call.then(() => assert.fail('the request was answered'), (e: unknown) => e);
  assert.ok(error instanceof McpError, String(error));
  return error;
}

type Line = Record<string, unknown> & { event: string; subject: string; roles: string[] };

describe('roles and limits through a real daemon', () => {
  let s: Sandbox;
  const tokens = { reader: client(), denier: client(), elsewhere: client(), policied: client(), limited: client() };
  const connect = async (name: string, token: string): Promise<Client> => {
    const c = new Client({ name: 'roles-e2e', version: '1.0.0' });
    await c.connect(await mcpdTransport(name, { socket: s.env.MCPD_SOCKET, token, autostart: false }));
    return c;
  };
  const auditLines = async (): Promise<Line[]> => (await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Line);

  /** The daemon's config; `noEcho` the deny the last test takes away. */
  const config = (noEcho: object[] = [{ server: '*', tools: ['echo'] }]) => ({
    mcpServers: {
      everything: server(),
      everything2: server(),
      policied: server({ tools: { deny: ['get-sum'] } }),
      warmed: server({ env: { WARM_SECRET: '${local:roles/warm}' }, warm: 1 }),
    },
    providers: { local: { type: 'local', key: 'file' } },
    roles: {
      'read-all': { grants: [{ server: 'every*', access: 'read' }] },
      writer: { grants: [{ server: 'everything' }] },
      'no-echo': { denies: noEcho },
      'linear-only': { grants: [{ server: 'linear' }] },
      anything: { grants: [{ server: '*' }] },
      slow: { grants: [{ server: 'everything' }], limits: { requestsPerMinute: 4, sessions: 1 } },
    },
    clients: {
      reader: { tokenSha256: tokens.reader.tokenSha256, roles: ['read-all'] },
      denier: { tokenSha256: tokens.denier.tokenSha256, roles: ['writer', 'no-echo'] },
      elsewhere: { tokenSha256: tokens.elsewhere.tokenSha256, roles: ['linear-only'] },
      policied: { tokenSha256: tokens.policied.tokenSha256, roles: ['anything'] },
      limited: { tokenSha256: tokens.limited.tokenSha256, roles: ['slow'] },
    },
  });

  before(async () => {
    s = await sandbox();
    await s.writeConfig(config());
    assert.equal((await s.cli(['secret', 'set', 'local:roles/warm'], { input: 'warm-value-1234' })).exitCode, 0);
    await startDaemon(s);
    // First of this peer's refusals: written at once (later ones in the minute are counted, test/daemon/server/refusal-tally.test.ts).
    const refused = await rawRequest(s.env.MCPD_SOCKET!, '/v1/session/everything', true, { authorization: 'Bearer mcpd_not-a-token' });
    assert.equal(refused.status, 401);
  });
  after(() => s.cleanup());

  it('a read grant by glob lists and calls only readOnlyHint tools, on every server the glob matches', async () => {
    for (const name of ['everything', 'everything2']) {
      const c = await connect(name, tokens.reader.token);
      try {
        const { tools } = await c.listTools();
        assert.ok(tools.length > 3 && tools.every((t) => t.annotations?.readOnlyHint === true), JSON.stringify(tools.map((t) => [t.name, t.annotations?.readOnlyHint])));
        assert.ok(!tools.some((t) => t.name === 'toggle-simulated-logging'));
        assert.equal((await c.callTool({ name: 'echo', arguments: { message: 'hi' } })).isError, undefined);
        const error = await failed(c.callTool({ name: 'toggle-simulated-logging', arguments: {} }));
        assert.equal(error.code, -32003);
        assert.match(error.message, /mcpd policy: tool "toggle-simulated-logging" is denied: it is not annotated readOnlyHint, and roles\.read-all\.grants\[0\] grants read access only; the request was not passed to the server/);
        assert.deepEqual(error.data, { code: 'POLICY_DENIED', rule: 'roles.read-all.grants[0].access' });
        // mcpd's own credentials never reach the child: the client token is nowhere in its environment.
        assert.ok(!JSON.stringify(await serverEnv(c)).includes(tokens.reader.token));
      } finally {
        await c.close();
      }
    }
  });

  it('a deny wins over a grant: echo is hidden and refused, the rest of the write grant passes', async () => {
    const c = await connect('everything', tokens.denier.token);
    try {
      const names = (await c.listTools()).tools.map((t) => t.name);
      assert.ok(!names.includes('echo') && names.includes('toggle-simulated-logging'), names.join(' '));
      const error = await failed(c.callTool({ name: 'echo', arguments: { message: 'hi' } }));
      assert.match(error.message, /tool "echo" is denied: it matches "echo" in roles\.no-echo\.denies\[0\]\.tools/);
      assert.equal((await c.callTool({ name: 'toggle-simulated-logging', arguments: {} })).isError, undefined);
    } finally {
      await c.close();
    }
    // The writer role grants only "everything": no session to everything2.
    await assert.rejects(connect('everything2', tokens.denier.token), (e: unknown) => e instanceof McpdError && e.code === 'SCOPE_MISSING'
      && e.message === 'token "denier" may not open a session to "everything2": its roles (writer, no-echo) grant nothing on it, and it lacks the scope launch:everything2');
  });

  it('a grant on another server gives nothing here: the launch is refused with 403, before the server is looked up', async () => {
    await assert.rejects(connect('everything', tokens.elsewhere.token), (e: unknown) => e instanceof McpdError && e.code === 'SCOPE_MISSING'
      && e.message === 'token "elsewhere" may not open a session to "everything": its roles (linear-only) grant nothing on it, and it lacks the scope launch:everything');
    const raw = await rawRequest(s.env.MCPD_SOCKET!, '/v1/session/no-such-server', true, { authorization: `Bearer ${tokens.elsewhere.token}` });
    assert.equal(raw.status, 403);
    assert.equal(raw.body.error.hint, `add a grant on it to one of its roles in ${s.configPath} ("grants": [{"server": "no-such-server"}]), or give it the scope launch:no-such-server`);
  });

  it('the server\'s own policy still applies under a role that grants everything', async () => {
    const c = await connect('policied', tokens.policied.token);
    try {
      assert.ok(!(await c.listTools()).tools.some((t) => t.name === 'get-sum'));
      const error = await failed(c.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }));
      assert.deepEqual(error.data, { code: 'POLICY_DENIED', rule: 'mcpServers.policied.tools.deny', pattern: 'get-sum' });
    } finally {
      await c.close();
    }
  });

  it('a role\'s limits: a second session is refused, and the 5th request in a minute is answered by mcpd', async () => {
    const c = await connect('everything', tokens.limited.token); // initialize: request 1
    try {
      for (let i = 0; i < 2; i++) {
        await assert.rejects(connect('everything', tokens.limited.token), (e: unknown) => e instanceof McpdError && e.code === 'SESSION_LIMIT'
          && e.message === 'client token "limited" holds 1 open sessions, the most roles.slow.limits.sessions (1) allows');
      }
      await c.listTools();
      await c.ping();
      await c.ping(); // request 4
      const error = await failed(c.ping());
      assert.equal(error.code, -32029);
      assert.match(error.message, /^MCP error -32029: mcpd: token:limited sent 4 requests in the last minute, the most roles\.slow\.limits\.requestsPerMinute \(4\) allows; retry in \d+ s; the request was not passed to the server$/);
      const data = error.data as { code: string; retryAfterMs: number; limit: number };
      assert.equal(data.code, 'RATE_LIMITED');
      assert.equal(data.limit, 4);
      assert.ok(data.retryAfterMs > 0 && data.retryAfterMs <= 61_000, String(data.retryAfterMs));
      // A client over its rate retries: the refusals of a minute are one audit line, not one each.
      for (let i = 0; i < 3; i++) assert.equal((await failed(c.ping())).code, -32029);
      const limited = (await auditLines()).filter((l) => l.event.endsWith('.limited'));
      assert.deepEqual(limited.map(({ time, ...rest }) => (assert.match(String(time), /^\d{4}-/), rest)), [
        { event: 'session.limited', server: 'everything', count: 1, limit: 1, setting: 'roles.slow.limits.sessions', subject: 'token:limited', roles: ['slow'] },
        { event: 'rate.limited', server: 'everything', count: 1, limit: 4, setting: 'roles.slow.limits.requestsPerMinute', subject: 'token:limited', roles: ['slow'] },
      ]);
      const text = await s.cli(['audit', '--subject', 'token:limited']);
      assert.match(text.stdout, /^\S+Z token:limited\[slow\] rate\.limited server=everything count=1 limit=4 setting=roles\.slow\.limits\.requestsPerMinute$/m);
    } finally {
      await c.close();
    }
  });

  it('every audit line names its subject and roles: the session\'s principal, the owner, mcpd, or unauthenticated', async () => {
    assert.equal((await s.cli(['token', 'create', 'later', '--scope', 'status:read'])).exitCode, 0);
    await waitFor(async () => (await auditLines()).some((l) => l.event === 'session.close' && l.subject === 'token:limited'), 'the limited session to close');
    const lines = await auditLines();
    for (const line of lines) assert.ok(typeof line.subject === 'string' && Array.isArray(line.roles), JSON.stringify(line));
    const find = (check: (l: Line) => boolean, what: string) => lines.find(check) ?? assert.fail(`no audit line for ${what}: ${JSON.stringify(lines)}`);
    find((l) => l.event === 'call.denied' && l.subject === 'token:denier' && l.roles.join() === 'writer,no-echo' && l.rule === 'roles.no-echo.denies[0].tools' && l.name === 'echo', 'the denied echo');
    find((l) => l.event === 'call.denied' && l.subject === 'token:reader' && l.roles.join() === 'read-all' && l.rule === 'roles.read-all.grants[0].access', 'the read-only refusal');
    find((l) => l.event === 'session.open' && l.subject === 'token:policied' && l.roles.join() === 'anything', 'a session opened through a role');
    find((l) => l.event === 'tool.call' && l.subject === 'token:denier' && l.tool === 'toggle-simulated-logging', 'a tool call');
    find((l) => l.event === 'token.used' && l.subject === 'token:limited' && l.roles.join() === 'slow', 'a token used');
    find((l) => l.event === 'token.created' && l.subject === 'owner' && l.token === 'later', 'the token the owner created');
    // What mcpd does on its own: the warm pool's process resolving its secret.
    find((l) => l.event === 'secret.resolved' && l.server === 'warmed' && l.subject === 'mcpd' && l.roles.length === 0, 'the warm pool fill');
    find((l) => l.event === 'token.refused' && l.subject === 'unauthenticated' && l.code === 'TOKEN_INVALID', 'the refused token');
    const text = await s.cli(['audit']);
    assert.match(text.stdout, /^\S+Z token:denier\[writer,no-echo\] call\.denied session=[0-9a-f]{8} server=everything method=tools\/call name=echo rule=roles\.no-echo\.denies\[0\]\.tools$/m);
    assert.match(text.stdout, /^\S+Z owner token\.created token=later /m);
    for (const { token } of Object.values(tokens)) assert.ok(!JSON.stringify(lines).includes(token), 'no token in the audit log');
  });

  it('an edit of a role reaches an open session at its next message', async () => {
    const c = await connect('everything', tokens.denier.token);
    try {
      await failed(c.callTool({ name: 'echo', arguments: { message: 'before' } }));
      await s.writeConfig(config([]));
      assert.equal((await s.cli(['reload'])).exitCode, 0);
      assert.deepEqual((await c.callTool({ name: 'echo', arguments: { message: 'after' } })).content, [{ type: 'text', text: 'Echo: after' }]);
    } finally {
      await c.close();
    }
  });
});
