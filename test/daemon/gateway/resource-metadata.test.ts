/**
 * RFC 9728 protected resource metadata behind the daemon's real socket server: the document of
 * each `/mcp/NAME` (path-inserted form) on a listener whose chain names an authorization server,
 * its `resource` by the Host the client used or the listener's publicUrl, none (404) on a chain
 * that names none, and the 401's `resource_metadata` hint naming that document.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { AuthChain } from '../../../daemon/auth/providers/chain.js';
import { noneProvider } from '../../../daemon/auth/providers/none.js';
import type { ClientAuthProvider } from '../../../daemon/auth/providers/provider.js';
import { bearerChallenge, type ListenerOrigin } from '../../../daemon/gateway/resource-metadata.js';
import { serveChain } from '../../helpers/auth-chain.js';

const ISSUER = 'https://id.example.com';

/** A provider that names an authorization server and refuses everything, as `jwt` does without a token. */
const issuerProvider: ClientAuthProvider = {
  type: 'test',
  authenticate: () => {
    throw new McpdError('TOKEN_REQUIRED', 'no token');
  },
  challenge: (_refusal, resource) => bearerChallenge({ resource_metadata: resource?.metadataUrl, scope: resource && `mcp:${resource.server}` }),
  authorizationServers: () => [ISSUER],
  scopesSupported: (server) => ['mcp', `mcp:${server}`],
};

/** A GET with its Host header as given (fetch would not send another Host than the URL's). */
async function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: unknown; challenge: string | undefined }> {
  const req = request({ port, host: '127.0.0.1', path, headers: { host } }).end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const challenge = res.headers['www-authenticate'];
  return { status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()), challenge };
}

async function withChain(chain: AuthChain, use: (port: number) => Promise<void>): Promise<void> {
  const server = await serveChain(chain);
  try {
    await use(server.port);
  } finally {
    await server.close();
  }
}

const tcp: ListenerOrigin = { tls: false, unix: false };

describe('protected resource metadata (RFC 9728)', () => {
  it('answers each endpoint\'s document at the path-inserted well-known URL', () => withChain(new AuthChain([issuerProvider], tcp), async (port) => {
    const { status, body } = await get(port, '/.well-known/oauth-protected-resource/mcp/every%20thing');
    assert.equal(status, 200);
    assert.deepEqual(body, {
      resource: `http://127.0.0.1:${port}/mcp/every%20thing`,
      authorization_servers: [ISSUER],
      scopes_supported: ['mcp', 'mcp:every thing'],
      bearer_methods_supported: ['header'],
    });
  }));

  it('names the resource by the Host the client used, or by the listener\'s publicUrl', async () => {
    await withChain(new AuthChain([issuerProvider], tcp), async (port) => {
      const { body } = await get(port, '/.well-known/oauth-protected-resource/mcp/github', `LOCALHOST:${port}`);
      assert.equal((body as { resource: string }).resource, `http://localhost:${port}/mcp/github`);
    });
    await withChain(new AuthChain([issuerProvider], { ...tcp, publicUrl: 'https://mcp.example.com' }), async (port) => {
      const { body } = await get(port, '/.well-known/oauth-protected-resource/mcp/github');
      assert.equal((body as { resource: string }).resource, 'https://mcp.example.com/mcp/github');
    });
  });

  it('is not found on a listener whose chain names no authorization server, nor for a path that names no endpoint', async () => {
    await withChain(new AuthChain([noneProvider({ roles: [] })], tcp), async (port) => {
      const { status, body } = await get(port, '/.well-known/oauth-protected-resource/mcp/github');
      assert.equal(status, 404);
      assert.equal((body as { error: { code: string } }).error.code, 'NOT_FOUND');
    });
    await withChain(new AuthChain([issuerProvider], tcp), async (port) => {
      assert.equal((await get(port, '/.well-known/oauth-protected-resource/mcp/')).status, 404);
      assert.equal((await get(port, '/.well-known/oauth-protected-resource/mcp/a%2Fb')).status, 404);
      assert.equal((await get(port, '/.well-known/oauth-protected-resource/mcp/%zz')).status, 404);
    });
  });

  it('points a 401 from /mcp/NAME at that document', () => withChain(new AuthChain([issuerProvider], tcp), async (port) => {
    const { status, challenge } = await get(port, '/mcp/github');
    assert.equal(status, 401);
    assert.equal(challenge, `Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp/github", scope="mcp:github"`);
  }));

  it('quotes a challenge\'s values (RFC 9110 quoted-string)', () => {
    assert.equal(bearerChallenge({ error: 'invalid_token', error_description: 'say "hi" \\ bye\r\n', scope: undefined }), 'Bearer error="invalid_token", error_description="say \\"hi\\" \\\\ bye"');
    assert.equal(bearerChallenge({}), 'Bearer');
  });
});
