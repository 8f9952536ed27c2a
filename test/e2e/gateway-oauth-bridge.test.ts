/**
 * mcpd's own remote bridge against mcpd's own authorization server: a second daemon has the
 * first one's /mcp/everything as a url server, signs in with `mcpd auth login --no-browser`
 * (discovery from the 401, registration, PKCE, resource), the first daemon's owner approves
 * with `mcpd auth approve`, and the bridge calls a tool and refreshes when its access token
 * expires. Neither daemon writes a token or code in plaintext.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { startDaemon } from '../helpers/daemon.js';
import { filesHolding, open } from '../helpers/oauth.js';
import { approveAll, tokenList } from '../helpers/oauth-as.js';
import { freePort } from '../helpers/remote.js';
import { cliMain } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

describe('mcpd\'s remote bridge signs in to mcpd\'s own authorization server', () => {
  let a: Sandbox;
  let b: Sandbox;
  let base: string;

  before(async () => {
    a = await sandbox();
    await a.writeConfig({
      mcpServers: { everything: { command: process.execPath, args: [everything, 'stdio'] } },
      roles: { user: { grants: [{ server: 'everything' }] } },
      socket: { listen: [{ host: '127.0.0.1', port: 0, auth: [{ type: 'oauth', accessTokenTtl: '3s', roles: ['user'] }] }] },
    });
    await startDaemon(a);
    const { listeners } = JSON.parse((await a.cli(['status', '--json'])).stdout) as { listeners: string[] };
    base = `http://127.0.0.1:${/^tcp:127\.0\.0\.1:(\d+)$/.exec(listeners[0]!)![1]}`;
    b = await sandbox();
    await b.writeConfig({ mcpServers: { upstream: { url: `${base}/mcp/everything`, oauth: { callbackPort: await freePort() } } } });
  });
  after(async () => {
    await b.cleanup();
    await a.cleanup();
  });

  it('completes the flow once the owner approves, calls a tool, and refreshes', async () => {
    const login = execa(process.execPath, [cliMain, 'auth', 'login', 'upstream', '--no-browser'], { env: b.env, extendEnv: false, reject: false, timeout: 60_000 });
    let stderr = '';
    const address = await new Promise<string>((resolve) => {
      login.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
    });
    assert.ok(address.startsWith(`${base}/authorize?`), address);
    assert.equal(new URL(address).searchParams.get('resource'), `${base}/mcp/everything`);
    const authorize = await fetch(address, { redirect: 'manual' });
    assert.equal(authorize.status, 302);
    const consentUrl = new URL(authorize.headers.get('location')!, base).href;
    await approveAll(a);
    const approved = await fetch(consentUrl, { redirect: 'manual' });
    assert.equal(approved.status, 302);
    const location = approved.headers.get('location')!;
    login.stdin!.end(`${location}\n`);
    const done = await login;
    assert.equal(done.exitCode, 0, String(done.stderr));
    assert.match(String(done.stdout), /signed in to "upstream"/);

    const session = await open(b, 'upstream', {});
    try {
      const echo = await session.client.callTool({ name: 'echo', arguments: { message: 'bridge to bridge' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: bridge to bridge' }]);
      // The access token lives 3 s: the bridge refreshes on the 401 and the call goes through.
      await new Promise((resolve) => setTimeout(resolve, 3500));
      const again = await session.client.callTool({ name: 'echo', arguments: { message: 'after refresh' } });
      assert.deepEqual(again.content, [{ type: 'text', text: 'Echo: after refresh' }]);
    } finally {
      await session.close();
    }
    const grant = (await tokenList(a)).find((t) => t.source === 'oauth');
    assert.equal(grant?.client, 'mcpd');
    assert.equal(grant?.revokedAt, undefined, 'the refresh rotated the tokens without a reuse');
    const code = new URL(location).searchParams.get('code')!;
    assert.deepEqual(await filesHolding(a.dir, [code]), []);
  });
});
