/**
 * The load-time checks of listeners, their auth chains, clients and the roles they name: each
 * bad entry is refused with its JSON path, what is wrong, and the fix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { parseConfig } from '../../../daemon/config/load.js';

const FILE = '/home/u/.config/mcpd/config.json';
const roles = { reader: {}, ops: {} };

/** The McpdError parseConfig throws for `config`: its code, message (without the file) and hint. */
function refusal(config: object): { code: string; message: string; hint: string | undefined } {
  try {
    parseConfig(JSON.stringify(config), FILE);
  } catch (error) {
    assert.ok(error instanceof McpdError, String(error));
    assert.ok(error.message.startsWith(`${FILE}: `), error.message);
    return { code: error.code, message: error.message.slice(FILE.length + 2), hint: error.hint };
  }
  assert.fail(`accepted ${JSON.stringify(config)}`);
}

const listen = (...entries: object[]) => ({ roles, socket: { listen: entries } });
/** The hint of every schema error (daemon/config/load.ts). */
const HINT = 'correct the keys named above (see README "Configuration"), then run `mcpd config check`';

describe('listener, auth chain and role checks at config load', () => {
  it('a TCP listener beyond loopback needs tls or a forwarded provider', () => {
    assert.deepEqual(refusal(listen({ port: 0 }, { host: '0.0.0.0', port: 7311 })), {
      code: 'CONFIG_INVALID',
      message: 'socket.listen[1].host: "0.0.0.0" is not a loopback address: a listener others can reach needs "tls" (its cert and key) or a "forwarded" provider in its "auth" (a reverse proxy that signs users in, in front)',
      hint: 'add "tls": {"cert": "PATH", "key": "PATH"} or {"type": "forwarded", "proxies": [...]} to socket.listen[1], or listen on 127.0.0.1',
    });
    for (const ok of [
      { host: '0.0.0.0', port: 7311, tls: { cert: '/etc/mcpd/cert.pem', key: '/etc/mcpd/key.pem' } },
      { host: '10.0.0.5', port: 7311, auth: [{ type: 'forwarded', proxies: ['10.0.0.1'] }, { type: 'bearer' }] },
      { host: '::1', port: 7311 },
      { host: 'localhost', port: 7311, auth: [{ type: 'none' }] },
    ]) {
      const spec = parseConfig(JSON.stringify(listen(ok)), FILE).socket.listen[0]!;
      assert.ok('port' in spec && spec.port === 7311, JSON.stringify(ok));
    }
  });

  it('none is refused anywhere but a TCP listener on a loopback host, naming its entry', () => {
    const hint = 'remove this entry, or use {"type": "bearer"} (mcpd token create NAME --role ...) or a "forwarded" provider';
    const rule = '"none" admits every request without credentials, which only a TCP listener on a loopback host (127.0.0.1, ::1, localhost) may do';
    assert.deepEqual(refusal(listen({ host: '0.0.0.0', port: 7311, tls: { cert: 'c', key: 'k' }, auth: [{ type: 'bearer' }, { type: 'none' }] })), {
      code: 'CONFIG_INVALID', message: `socket.listen[0].auth[1]: ${rule}; this is a TCP listener on "0.0.0.0", which is not a loopback address`, hint,
    });
    assert.deepEqual(refusal(listen({ port: 0 }, { path: '/run/mcpd/shared.sock', group: 'staff', auth: [{ type: 'none', roles: ['reader'] }] })), {
      code: 'CONFIG_INVALID', message: `socket.listen[1].auth[0]: ${rule}; this is a unix socket shared with others (/run/mcpd/shared.sock)`, hint,
    });
  });

  it('oauth only where its issuer (the listener\'s origin) is https, localhost or 127.0.0.1, and its roles exist', () => {
    const hint = (n: number) => `set socket.listen[${n}].publicUrl to the https URL clients reach (a tunnel's or proxy's), or add "tls" to socket.listen[${n}]`;
    const rule = 'mcpd\'s authorization server is at the listener\'s origin, and an issuer must be https unless it is localhost or 127.0.0.1 (RFC 8414)';
    const oauth = { type: 'oauth', roles: ['reader'] };
    assert.deepEqual(refusal(listen({ host: '0.0.0.0', port: 7311, auth: [{ type: 'forwarded', proxies: ['10.0.0.1'] }, oauth] })), {
      code: 'CONFIG_INVALID', message: `socket.listen[0].auth[1]: ${rule}; this plain-http listener on "0.0.0.0" is reached by a name other than localhost or 127.0.0.1`, hint: hint(0),
    });
    assert.deepEqual(refusal(listen({ port: 7311, allowedHosts: ['host.docker.internal'], auth: [oauth] })), {
      code: 'CONFIG_INVALID', message: `socket.listen[0].auth[0]: ${rule}; this plain-http listener is reached by "host.docker.internal" (its allowedHosts)`, hint: hint(0),
    });
    assert.deepEqual(refusal(listen({ port: 7311, publicUrl: 'http://mcp.example.com', auth: [oauth] })).message, `socket.listen[0].auth[0]: ${rule}; its publicUrl "http://mcp.example.com" is http on a name other than localhost or 127.0.0.1`);
    assert.match(refusal(listen({ host: '::1', port: 7311, auth: [oauth] })).message, /this plain-http listener on "::1" is reached by a name other than localhost or 127\.0\.0\.1$/);
    assert.equal(refusal(listen({ port: 7311, auth: [{ type: 'oauth', roles: ['writer'] }] })).message, 'socket.listen[0].auth[0].roles[0]: no role named "writer" in "roles"; known roles: ops, reader');
    for (const ok of [
      { port: 7311, auth: [oauth] },
      { host: '0.0.0.0', port: 7311, tls: { cert: 'c', key: 'k' }, auth: [oauth] },
      { host: '0.0.0.0', port: 7311, publicUrl: 'https://mcp.example.com', auth: [{ type: 'forwarded', proxies: ['10.0.0.1'] }, oauth] },
      { path: '/run/mcpd/shared.sock', auth: [oauth] },
    ]) parseConfig(JSON.stringify(listen(ok)), FILE);
  });

  it('every role named by a client, a none entry or groupRoles exists in roles', () => {
    const hint = (role: string) => `define "${role}" under "roles" (README "Roles"), or name one of the known roles`;
    const client = { tokenSha256: 'a'.repeat(64), roles: ['reader', 'writer'] };
    assert.deepEqual(refusal({ roles, clients: { ide: client } }), {
      code: 'CONFIG_INVALID', message: 'clients.ide.roles[1]: no role named "writer" in "roles"; known roles: ops, reader', hint: hint('writer'),
    });
    assert.deepEqual(refusal({ clients: { ide: client } }).message, 'clients.ide.roles[0]: no role named "reader" in "roles"; known roles: (none)');
    assert.deepEqual(refusal(listen({ port: 0, auth: [{ type: 'none', roles: ['admin'] }] })), {
      code: 'CONFIG_INVALID', message: 'socket.listen[0].auth[0].roles[0]: no role named "admin" in "roles"; known roles: ops, reader', hint: hint('admin'),
    });
    assert.deepEqual(refusal(listen({ port: 0, auth: [{ type: 'forwarded', proxies: ['127.0.0.1'], groupRoles: { eng: ['reader'], sre: ['ops', 'constructor'] } }] })), {
      code: 'CONFIG_INVALID', message: 'socket.listen[0].auth[0].groupRoles.sre[1]: no role named "constructor" in "roles"; known roles: ops, reader', hint: hint('constructor'),
    });
  });

  // zod's union said only "socket.listen[0]: invalid input" for each of these.
  it('an auth provider of no known type names its path, the type given and the types there are', () => {
    const types = 'expected one of bearer, forwarded, none, jwt, oauth';
    const problem = (auth: unknown[], listener: object = { port: 0 }) => refusal(listen({ ...listener, auth }));
    assert.deepEqual(problem([{ type: 'bearr' }]), { code: 'CONFIG_INVALID', message: `invalid config\nsocket.listen[0].auth[0].type: unknown auth provider type "bearr"; ${types}`, hint: HINT });
    assert.equal(problem([{ type: 'bearer' }, { type: 'JWT', issuer: 'https://id.example.com' }], { path: '/run/mcpd/shared.sock' }).message, `invalid config\nsocket.listen[0].auth[1].type: unknown auth provider type "JWT"; ${types}`);
    assert.equal(problem([{ proxies: ['127.0.0.1'] }]).message, `invalid config\nsocket.listen[0].auth[0].type: missing auth provider type; ${types}`);
    assert.equal(problem([{ type: 3 }]).message, `invalid config\nsocket.listen[0].auth[0].type: unknown auth provider type 3; ${types}`);
    assert.equal(problem([{ type: ['bearer'] }]).message, `invalid config\nsocket.listen[0].auth[0].type: unknown auth provider type (a list); ${types}`);
    assert.equal(problem(['bearer']).message, 'invalid config\nsocket.listen[0].auth[0]: expected an auth provider such as {"type": "bearer"}, got a string');
    // A long type is cut short, not echoed whole.
    assert.equal(problem([{ type: 'x'.repeat(100) }]).message, `invalid config\nsocket.listen[0].auth[0].type: unknown auth provider type "${'x'.repeat(40)}…"; ${types}`);
    // Within a known type, the mistake is still named at its own key.
    assert.equal(problem([{ type: 'jwt', issuer: 'https://id.example.com', scopes: 'mcp' }]).message, 'invalid config\nsocket.listen[0].auth[0].scopes: expected array, received string');
  });

  it('a listener that is neither a unix socket nor a TCP port, or both, says which keys make each', () => {
    const message = (...entries: unknown[]) => refusal({ socket: { listen: entries } }).message;
    assert.deepEqual(refusal({ socket: { listen: [{ auth: [{ type: 'bearer' }] }] } }), {
      code: 'CONFIG_INVALID', message: 'invalid config\nsocket.listen[0]: expected "path" (a unix socket listener) or "port" (a TCP listener, with "host")', hint: HINT,
    });
    assert.equal(message({ port: 0 }, { path: '/run/mcpd/shared.sock', port: 7311 }), 'invalid config\nsocket.listen[1]: has both "path" and "port"; a listener is either a unix socket ("path") or a TCP port ("port", with "host")');
    assert.equal(message({ path: '/run/mcpd/shared.sock', tls: { cert: 'c', key: 'k' } }), 'invalid config\nsocket.listen[0].tls: "tls" is for a TCP listener; a unix socket listener takes "path", "group" and "mode"');
    assert.equal(message({ port: 7311, mode: '600' }), 'invalid config\nsocket.listen[0].mode: "mode" is for a unix socket listener; a TCP listener takes "host", "port", "allowedHosts" and "tls"');
    assert.equal(message({ host: '127.0.0.1' }), 'invalid config\nsocket.listen[0].port: expected the TCP port to listen on, e.g. 7311 (0: any free port)');
    assert.equal(message({ group: 'staff' }), 'invalid config\nsocket.listen[0].path: expected the socket file\'s path, e.g. "/run/mcpd/shared.sock"');
    assert.equal(message('/run/mcpd/shared.sock'), 'invalid config\nsocket.listen[0]: expected a listener such as {"path": "/run/mcpd/shared.sock"} or {"port": 7311}, got a string');
    assert.equal(message({ port: '7311' }), 'invalid config\nsocket.listen[0].port: expected number, received string');
    assert.equal(message({ path: '/run/mcpd/shared.sock', group: true }), 'invalid config\nsocket.listen[0].group: expected a group name such as "staff" or a numeric group id such as 20, got a boolean');
    assert.equal(message({ path: '/run/mcpd/shared.sock', group: -1 }), 'invalid config\nsocket.listen[0].group: number must be greater than or equal to 0');
  });

  it('a grant\'s access names the value given and the two there are', () => {
    const grant = (access: unknown) => refusal({ roles: { reader: { grants: [{ server: '*' }, { server: 'github', access }] } } });
    assert.deepEqual(grant('rw'), { code: 'CONFIG_INVALID', message: 'invalid config\nroles.reader.grants[1].access: unknown access level "rw"; expected one of read, write', hint: HINT });
    assert.equal(grant(true).message, 'invalid config\nroles.reader.grants[1].access: unknown access level true; expected one of read, write');
    assert.equal(parseConfig(JSON.stringify({ roles: { reader: { grants: [{ server: '*', access: 'read' }] } } }), FILE).roles.reader!.grants[0]!.access, 'read');
  });

  it('a client needs at least one scope or role (the schema\'s message)', () => {
    const { code, message } = refusal({ roles, clients: { ide: { tokenSha256: 'a'.repeat(64) } } });
    assert.equal(code, 'CONFIG_INVALID');
    assert.equal(message, 'invalid config\nclients.ide: expected at least one scope or role, e.g. "scopes": ["launch:github"] or "roles": ["reader"]');
  });

  it('a forwarded proxy that is not an address or a CIDR range names its entry; forwarded on a unix socket is refused', () => {
    for (const bad of ['proxy.internal', '10.0.0.0/33', '10.0.0.0/8/8', '127.1', '010.0.0.1', '::1/129', '10.0.0.0/', '10.0.0.0/x8', ' 10.0.0.1']) {
      assert.deepEqual(refusal(listen({ port: 0, auth: [{ type: 'forwarded', proxies: ['127.0.0.1', bad] }] })), {
        code: 'CONFIG_INVALID',
        message: `socket.listen[0].auth[0].proxies[1]: "${bad}" is not an IP address or a CIDR range`,
        hint: 'give the reverse proxy\'s address or range as Node writes it, e.g. "127.0.0.1", "10.0.0.0/8", "::1" or "fd00::/8"',
      }, bad);
    }
    assert.deepEqual(refusal(listen({ path: '/run/mcpd/shared.sock', auth: [{ type: 'bearer' }, { type: 'forwarded', proxies: ['127.0.0.1'] }] })), {
      code: 'CONFIG_INVALID',
      message: 'socket.listen[0].auth[1]: "forwarded" trusts a reverse proxy by its address, and a connection on a unix socket (/run/mcpd/shared.sock) has none: it would refuse every request',
      hint: 'put the reverse proxy in front of a TCP listener ({"host": ..., "port": ...}), or use {"type": "bearer"} here',
    });
    const ok = parseConfig(JSON.stringify(listen({ port: 0, auth: [{ type: 'forwarded', proxies: ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '::ffff:10.0.0.1', '0.0.0.0/0'] }] })), FILE);
    assert.equal(ok.socket.listen[0]!.auth[0]!.type, 'forwarded');
  });
});
