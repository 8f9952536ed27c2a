/**
 * The `jwt` provider behind the daemon's real socket server, against the JwtIssuer double:
 * where the keys come from (RFC 8414 metadata, else OpenID discovery, or `jwksUri` alone), the
 * principal it makes (subject, issuer, roles the config defines, when it stops taking the
 * token), a route that is no endpoint, an issuer that does not answer (503, not a refusal of the
 * token), and its config checks.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { McpdError } from '../../../../core/errors.js';
import { ClientAccess } from '../../../../daemon/auth/access.js';
import { AuthChain } from '../../../../daemon/auth/providers/chain.js';
import type { Principal } from '../../../../daemon/auth/scopes.js';
import { TokenStore } from '../../../../daemon/auth/store.js';
import { parseConfig } from '../../../../daemon/config/load.js';
import { type Config, configSchema } from '../../../../daemon/config/schema.js';
import { JwtIssuer } from '../../../doubles/jwt-issuer.js';
import { type Answer, ask, serveChain } from '../../../helpers/auth-chain.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

const AUDIENCE = 'https://mcp.example.com';
const kiosk = 'mcpd_kiosk-config-token-for-the-jwt-test';
const config: Config = configSchema.parse({
  roles: { reader: {}, writer: {} },
  clients: { kiosk: { tokenSha256: createHash('sha256').update(kiosk).digest('hex'), roles: ['reader'] } },
});
let access: ClientAccess;
let dir: string;

/** Asks a chain of `entries` (one listener on 127.0.0.1) for /v1/control with `token`. */
async function askChain(entries: readonly object[], token: string | undefined, path = '/v1/control'): Promise<Answer> {
  const auth = configSchema.parse({ socket: { listen: [{ port: 0, auth: entries }] } }).socket.listen[0]!.auth;
  const server = await serveChain(AuthChain.forListener(auth, 0, access, () => config, { tls: false, unix: false }));
  try {
    return await ask(server.port, token === undefined ? [] : [`Authorization: Bearer ${token}`], '127.0.0.1', path);
  } finally {
    await server.close();
  }
}

function principalOf(answer: Answer): Principal {
  assert.equal(answer.status, 101, JSON.stringify(answer));
  return (answer as { principal: Principal }).principal;
}

function errorOf(answer: Answer, status: number): { code: string; message: string; hint?: string } {
  assert.equal(answer.status, status, JSON.stringify(answer));
  return (answer as { error: { code: string; message: string; hint?: string } }).error;
}

describe('the jwt provider', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpd-jwt-'));
    access = new ClientAccess(await TokenStore.open(join(dir, 'tokens.json')), () => config, new ManualClock(Date.now()), { by: () => ({ record: () => {} }) });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const discovery of ['oauth', 'openid'] as const) {
    it(`finds the JWKS through the issuer's ${discovery === 'oauth' ? 'RFC 8414 metadata' : 'OpenID discovery'} and makes a jwt principal with the roles the config defines`, async () => {
      const issuer = await JwtIssuer.start({ discovery });
      try {
        const token = await issuer.mint(AUDIENCE, { sub: 'bob', roles: 'reader root' });
        const answer = await askChain([{ type: 'jwt', issuer: issuer.issuer, audience: AUDIENCE }], token);
        const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
        assert.deepEqual(principalOf(answer), { kind: 'jwt', subject: `jwt:bob@127.0.0.1:${new URL(issuer.issuer).port}`, issuer: issuer.issuer, roles: ['reader'], expiresAt: (exp + 30) * 1000 });
        assert.equal(issuer.jwksFetches, 1);
      } finally {
        await issuer.close();
      }
    });
  }

  it('takes the keys from jwksUri alone when the issuer publishes no metadata; a nested roles claim by its dotted path', async () => {
    const issuer = await JwtIssuer.start({ discovery: 'none' });
    try {
      const token = await issuer.mint(AUDIENCE, { realm_access: { roles: ['writer', 'reader'] } });
      const answer = await askChain([{ type: 'jwt', issuer: issuer.issuer, audience: AUDIENCE, jwksUri: issuer.jwksUri, rolesClaim: 'realm_access.roles' }], token);
      assert.deepEqual(principalOf(answer).roles, ['writer', 'reader']);
      const without = errorOf(await askChain([{ type: 'jwt', issuer: issuer.issuer, audience: AUDIENCE }], token), 503);
      assert.deepEqual(without, {
        code: 'ISSUER_UNREACHABLE',
        message: `socket.listen[0].auth[0] (jwt) cannot find the signing keys of ${issuer.issuer}: ${issuer.issuer}/.well-known/oauth-authorization-server answered 404; ${issuer.issuer}/.well-known/openid-configuration answered 404`,
        hint: 'check that the authorization server answers, or set socket.listen[0].auth[0].jwksUri to its JWKS',
      });
    } finally {
      await issuer.close();
    }
  });

  it('without an audience set, takes tokens only for /mcp/NAME endpoints, not for /v1/control', async () => {
    const issuer = await JwtIssuer.start();
    try {
      const error = errorOf(await askChain([{ type: 'jwt', issuer: issuer.issuer }], await issuer.mint(AUDIENCE)), 401);
      assert.equal(error.code, 'JWT_INVALID');
      assert.match(error.message, /refused the token: \/v1\/control is no endpoint an access token is issued for/);
    } finally {
      await issuer.close();
    }
  });

  it('beside bearer: each takes its own tokens, whichever comes first in the chain; a JWT short of a scope gets its 403 either way', async () => {
    const issuer = await JwtIssuer.start();
    try {
      const jwt = await issuer.mint(AUDIENCE, { roles: ['writer'] });
      for (const chain of [[{ type: 'bearer' }, { type: 'jwt', issuer: issuer.issuer, audience: AUDIENCE }], [{ type: 'jwt', issuer: issuer.issuer, audience: AUDIENCE }, { type: 'bearer' }]]) {
        assert.equal(principalOf(await askChain(chain, jwt)).kind, 'jwt');
        assert.equal(principalOf(await askChain(chain, kiosk)).kind, 'token');
      }
      // A JWT short of a scope: its 403 is the answer, not bearer's "unknown token", whichever is first.
      for (const chain of [[{ type: 'bearer' }, { type: 'jwt', issuer: issuer.issuer, audience: AUDIENCE, scopes: ['mcp'] }], [{ type: 'jwt', issuer: issuer.issuer, audience: AUDIENCE, scopes: ['mcp'] }, { type: 'bearer' }]]) {
        const answer = await askChain(chain, jwt);
        assert.equal(errorOf(answer, 403).code, 'SCOPE_INSUFFICIENT');
        assert.equal((answer as { challenge?: string }).challenge, 'Bearer error="insufficient_scope", scope="mcp"');
      }
      // A token that is no JWT costs no discovery of the issuer.
      const fetched = issuer.jwksFetches;
      const other = await JwtIssuer.start();
      try {
        assert.equal(principalOf(await askChain([{ type: 'jwt', issuer: other.issuer, audience: AUDIENCE }, { type: 'bearer' }], kiosk)).kind, 'token');
        assert.equal(other.jwksFetches, 0);
      } finally {
        await other.close();
      }
      assert.equal(issuer.jwksFetches, fetched);
    } finally {
      await issuer.close();
    }
  });

  it('an issuer that does not answer is a 503 naming it and the URL tried, not a refusal of the token', async () => {
    const issuer = await JwtIssuer.start();
    const url = issuer.issuer;
    const token = await issuer.mint(AUDIENCE);
    await issuer.close();
    const error = errorOf(await askChain([{ type: 'jwt', issuer: url, audience: AUDIENCE }], token), 503);
    assert.equal(error.code, 'ISSUER_UNREACHABLE');
    assert.ok(error.message.startsWith(`socket.listen[0].auth[0] (jwt) cannot find the signing keys of ${url}: ${url}/.well-known/oauth-authorization-server: fetch failed`), error.message);
  });

  it('config: the issuer and jwksUri are https (http on loopback only), scopes are OAuth scope tokens, publicUrl an origin', () => {
    const refusal = (entry: object, extra: object = {}) => {
      try {
        parseConfig(JSON.stringify({ socket: { listen: [{ port: 0, ...extra, auth: [entry] }] } }), '/c.json');
      } catch (error) {
        assert.ok(error instanceof McpdError && error.code === 'CONFIG_INVALID');
        return error.message;
      }
      assert.fail(`accepted ${JSON.stringify(entry)}`);
    };
    assert.match(refusal({ type: 'jwt', issuer: 'http://id.example.com' }), /socket\.listen\[0\]\.auth\[0\]\.issuer: "http:\/\/id\.example\.com" is not https: tokens are only trusted from an authorization server reached over TLS \(http only on a loopback host\)/s);
    assert.match(refusal({ type: 'jwt', issuer: 'https://id.example.com', jwksUri: 'http://keys.example.com/jwks' }), /socket\.listen\[0\]\.auth\[0\]\.jwksUri: "http:\/\/keys\.example\.com\/jwks" is not https/);
    assert.match(refusal({ type: 'jwt', issuer: 'https://id.example.com', scopes: ['mcp read'] }), /expected an OAuth scope: printable ASCII without spaces/);
    assert.match(refusal({ type: 'jwt', issuer: 'https://id.example.com' }, { publicUrl: 'https://mcp.example.com/mcpd' }), /socket\.listen\[0\]\.publicUrl: expected an origin such as "https:\/\/mcp\.example\.com"/s);
    const ok = parseConfig(JSON.stringify({ socket: { listen: [{ port: 0, publicUrl: 'https://mcp.example.com/', auth: [{ type: 'jwt', issuer: 'http://[::1]:8080/realms/x' }] }] } }), '/c.json');
    assert.deepEqual(ok.socket.listen[0]!.auth[0], { type: 'jwt', issuer: 'http://[::1]:8080/realms/x', rolesClaim: 'roles', scopes: [], serverScopes: {} });
  });
});
