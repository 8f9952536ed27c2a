/**
 * The consent page of mcpd's own authorization server in a real browser (Debian's chromium,
 * driven by playwright-core): it names the client, its redirect URI and the scopes; the owner
 * approves or denies it with an admin token; a page of another origin that frames it gets
 * nothing; a form of another site posting to it is refused even with the right key and token.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchBrowser } from '../helpers/browser.js';
import { startDaemon } from '../helpers/daemon.js';
import { filesHolding } from '../helpers/oauth.js';
import { pendingIds, TestOAuthClient } from '../helpers/oauth-as.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const skip = await browserSkipReason();

/** The client's own site, on another origin (localhost, not 127.0.0.1): its callback, and pages that frame or post to mcpd. */
function clientSite(callbacks: URL[]): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = url.searchParams.get('u') ?? '';
    const attr = (text: string) => text.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
    res.setHeader('content-type', 'text/html');
    if (url.pathname === '/callback') {
      callbacks.push(url);
      return void res.end('<p>back at the client</p>');
    }
    if (url.pathname === '/hello') return void res.end('<p>hello from a framable page</p>');
    if (url.pathname === '/frame') return void res.end(`<iframe id="own" src="/hello"></iframe><iframe id="consent" src="${attr(target)}"></iframe>`);
    if (url.pathname === '/csrf') {
      const fields = ['id', 'k', 'owner_token', 'action'].map((name) => `<input type="hidden" name="${name}" value="${attr(url.searchParams.get(name) ?? '')}">`).join('');
      return void res.end(`<form id="f" method="post" action="${attr(target)}">${fields}</form><script>document.getElementById('f').submit()</script>`);
    }
    res.statusCode = 404;
    res.end();
  });
}

describe('the consent page in a real browser', { skip }, () => {
  let s: Sandbox;
  let base: string;
  let site: Server;
  let siteBase: string;
  let browser: Browser;
  let ownerToken: string;
  const callbacks: URL[] = [];
  const seen: string[] = [];

  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { everything: { command: process.execPath, args: ['-e', ''] } },
      roles: { user: { grants: [{ server: 'everything' }] } },
      socket: { listen: [{ host: '127.0.0.1', port: 0, auth: [{ type: 'oauth', roles: ['user'] }] }] },
    });
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    base = `http://127.0.0.1:${/^tcp:127\.0\.0\.1:(\d+)$/.exec(listeners[0]!)![1]}`;
    ownerToken = (await s.cli(['token', 'create', 'owner', '--scope', 'admin'])).stdout.trim();
    site = clientSite(callbacks);
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteBase = `http://localhost:${(site.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    site?.close();
    assert.deepEqual(await filesHolding(s.dir, seen), []);
    await s.cleanup();
  });

  /** A client's flow up to its redirect: the URL the browser is sent to. */
  async function ask(name: string): Promise<{ oauth: TestOAuthClient; transport: StreamableHTTPClientTransport }> {
    const oauth = new TestOAuthClient(name, `${siteBase}/callback`);
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/everything`), { authProvider: oauth });
    await assert.rejects(new Client({ name: 'consent-test', version: '1' }).connect(transport), UnauthorizedError);
    return { oauth, transport };
  }

  it('names the client, its redirect URI and the scopes; a non-owner token is refused; the owner approves', async () => {
    const { oauth, transport } = await ask('Browser <b>Client</b>');
    const page = await browser.newPage();
    try {
      const response = await page.goto(oauth.authorizationUrl!.href);
      assert.equal(response?.status(), 200);
      assert.equal(await page.locator('#client').innerText(), 'Browser <b>Client</b>', 'the name is shown as text, not markup');
      assert.equal(await page.locator('#redirect').innerText(), `${siteBase}/callback`);
      assert.equal(await page.locator('#scopes').innerText(), 'mcp:tools');
      assert.equal(await page.locator('#resource').innerText(), `${base}/mcp/everything`);
      assert.equal(response?.headers()['x-frame-options'], 'DENY');
      assert.match(response?.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);

      await page.fill('input[name=owner_token]', 'mcpd_not-a-token');
      await page.click('button[value=approve]');
      assert.match(await page.locator('body').innerText(), /Not the owner[\s\S]*not one mcpd issued/);
      assert.equal(callbacks.length, 0);

      await page.fill('input[name=owner_token]', ownerToken);
      await Promise.all([page.waitForURL(`${siteBase}/callback**`), page.click('button[value=approve]')]);
      const back = callbacks.pop()!;
      const code = back.searchParams.get('code')!;
      assert.ok(code?.startsWith('mcpdac_'), back.href.replace(/code=[^&]+/, 'code=…'));
      seen.push(code, ownerToken);
      await transport.finishAuth(code);
      seen.push(oauth.tokens()!.access_token, oauth.tokens()!.refresh_token!);
    } finally {
      await page.close();
    }
  });

  it('the owner denies: the client is sent access_denied and no code', async () => {
    const { oauth } = await ask('Denied Browser Client');
    const page = await browser.newPage();
    try {
      await page.goto(oauth.authorizationUrl!.href);
      await page.fill('input[name=owner_token]', ownerToken);
      await Promise.all([page.waitForURL(`${siteBase}/callback**`), page.click('button[value=deny]')]);
      const back = callbacks.pop()!;
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('code'), null);
      assert.equal(back.searchParams.get('state'), oauth.state());
    } finally {
      await page.close();
    }
  });

  it('approved on the owner socket (mcpd auth approve), the page\'s Continue takes the browser back with a code', async () => {
    const { oauth } = await ask('CLI-approved Client');
    const page = await browser.newPage();
    try {
      await page.goto(oauth.authorizationUrl!.href);
      const [id] = await pendingIds(s);
      assert.match(await page.locator('#request').innerText(), new RegExp(`^${id}$`));
      const approved = await s.cli(['auth', 'approve', id!]);
      assert.equal(approved.exitCode, 0, approved.stderr);
      assert.match(approved.stdout, /approved request .*"CLI-approved Client" gets a token for/);
      await Promise.all([page.waitForURL(`${siteBase}/callback**`), page.click('#continue')]);
      const code = callbacks.pop()!.searchParams.get('code') ?? '';
      assert.ok(code.startsWith('mcpdac_'), 'a code');
      seen.push(code);
    } finally {
      await page.close();
    }
  });

  it('cannot be framed: a page of another origin that frames it gets nothing', async () => {
    const { oauth } = await ask('Framed Client');
    const authorize = await fetch(oauth.authorizationUrl!, { redirect: 'manual' });
    const consentUrl = new URL(authorize.headers.get('location')!, base).href;
    const page = await browser.newPage();
    try {
      await page.goto(`${siteBase}/frame?u=${encodeURIComponent(consentUrl)}`);
      const own = page.frameLocator('#own').locator('body');
      assert.match(await own.innerText(), /hello from a framable page/, 'the site can frame its own pages');
      await page.waitForTimeout(500);
      const texts = await Promise.all(page.frames().map((f) => f.evaluate<string>('document.body ? document.body.innerText : ""').catch(() => '')));
      assert.ok(!texts.some((t) => t.includes('Framed Client')), `the consent page rendered in a frame: ${JSON.stringify(texts)}`);
    } finally {
      await page.close();
    }
  });

  it('a form of another site posting to it is refused, even with the request\'s key and an owner token', async () => {
    const { oauth } = await ask('Cross-site Client');
    const authorize = await fetch(oauth.authorizationUrl!, { redirect: 'manual' });
    const consentUrl = new URL(authorize.headers.get('location')!, base);
    const fields = new URLSearchParams({ u: `${base}/oauth/consent`, id: consentUrl.searchParams.get('id')!, k: consentUrl.searchParams.get('k')!, owner_token: ownerToken, action: 'approve' });
    const page = await browser.newPage();
    try {
      const [response] = await Promise.all([page.waitForResponse(`${base}/oauth/consent`), page.goto(`${siteBase}/csrf?${fields}`)]);
      assert.equal(response.status(), 403);
      assert.match(await response.text(), /another site/);
      assert.ok((await pendingIds(s)).includes(consentUrl.searchParams.get('id')!), 'the request still waits');
      assert.equal(callbacks.length, 0);
    } finally {
      await page.close();
    }
  });
});
