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
