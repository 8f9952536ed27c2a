/**
 * The client command the MCP conformance runner starts (`conformance client --command "node
 * dist/test/conformance/host.js"`): the runner appends its test server's URL and names the
 * scenario in MCP_CONFORMANCE_SCENARIO. The host writes a throwaway mcpd config with that URL as
 * the remote server `remote`, and the SDK's own Client talks to `mcpd run remote` on stdio
 * (through the daemon, which autostarts and is stopped at the end): what the runner checks is
 * what mcpd's bridge sent it. Runs under the Node mcpd supports; only the runner needs Node 22.
 *
 * For the auth scenarios the config also gets what auth-setup.ts makes of the runner's context
 * (MCP_CONFORMANCE_CONTEXT), and `$BROWSER` is a stand-in (test/fixtures/browser-fetch.js) that
 * fetches the authorization URL and follows its redirect to mcpd's loopback callback: the suite's
 * authorization server redirects at once, so the flow completes with no browser. At the end every
 * file of the throwaway home and mcpd's stderr are searched for the credentials (leaks.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { freePort } from '../helpers/remote.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { sandbox } from '../helpers/sandbox.js';
import { authSetup } from './auth-setup.js';
import { findLeaks } from './leaks.js';

/** Starts `mcpd run remote` and initializes the SDK's Client over it. */
type Connect = (options?: RequestOptions) => Promise<Client>;

/**
 * How long the host waits for mcpd to refuse what a scenario expects refused: an answer must
 * come before the runner's own timeout (30 s in client.test.ts) kills the host.
 */
const REFUSAL_MS = 20_000;

/** Any request is the first one the authorization-code and client-credentials scenarios guard. */
const signIn = async (connect: Connect) => { await (await connect()).listTools(); };

/** What each scenario expects the client to do (read from the runner's scenario code). */
const SCENARIOS: Record<string, (connect: Connect) => Promise<void>> = {
  // The runner checks the initialize request (protocol version, client name and version).
  initialize: signIn,
  // The runner checks add_numbers was called, and with what; the host checks the answer.
  tools_call: async (connect) => {
    const client = await connect();
    await client.listTools();
    const result = await client.callTool({ name: 'add_numbers', arguments: { a: 2, b: 3 } });
    expectText(result, 'The sum of 2 and 3 is 5');
  },
  // The server closes the call's SSE stream after a priming event (retry: 500): the bridge must
  // reconnect by GET with Last-Event-ID after that delay, where the server sends the answer.
  'sse-retry': async (connect) => {
    const client = await connect();
    await client.listTools();
    // After notifications/initialized the SDK's transport in the daemon opens its standalone GET
    // stream. Should that GET land after the tool call's POST, the runner takes it for the
    // reconnection and times the retry from it (0 ms: a failure, seen on a loaded CI machine).
    // Nothing of the runner's is visible from here, so the call waits for that GET to be made.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
    expectText(result, 'Reconnection test completed successfully');
  },
  // Each guards initialize itself (401): signing in is part of connecting.
  'auth/metadata-default': signIn,
  'auth/metadata-var1': signIn,
  'auth/metadata-var2': signIn,
  'auth/metadata-var3': signIn,
  'auth/basic-cimd': signIn,
  'auth/scope-from-www-authenticate': signIn,
  'auth/scope-from-scopes-supported': signIn,
  'auth/scope-omitted-when-undefined': signIn,
  'auth/token-endpoint-auth-basic': signIn,
  'auth/token-endpoint-auth-post': signIn,
  'auth/token-endpoint-auth-none': signIn,
  'auth/pre-registration': signIn,
  'auth/2025-03-26-oauth-metadata-backcompat': signIn,
  'auth/2025-03-26-oauth-endpoint-fallback': signIn,
  'auth/offline-access-scope': signIn,
  'auth/offline-access-not-supported': signIn,
  'auth/client-credentials-basic': signIn,
  'auth/client-credentials-jwt': signIn,
  // initialize passes unauthenticated; tools/list wants mcp:basic (401), tools/call also
  // mcp:write (403 insufficient_scope): the call must succeed after a second authorization.
  'auth/scope-step-up': async (connect) => {
    const client = await connect();
    await client.listTools();
    expectText(await client.callTool({ name: 'test-tool', arguments: {} }), 'test');
  },
  // After the first authorization every request is a 403 asking for a scope the token already
  // has: mcpd must give up (the runner counts at most three authorization requests), not loop.
  'auth/scope-retry-limit': async (connect) => {
    const client = await connect();
    await refused(client.listTools(undefined, { timeout: REFUSAL_MS }), 'tools/list while every answer is 403 insufficient_scope');
  },
  // The protected resource metadata names another resource: mcpd must stop before authorizing.
  'auth/resource-mismatch': (connect) => refused(connect({ timeout: REFUSAL_MS }), 'initialize to a server whose metadata names https://evil.example.com/mcp'),
};

function expectText(result: unknown, text: string): void {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  if (!content.some((c) => c.type === 'text' && c.text === text)) {
    throw new Error(`expected the tool to answer "${text}", got ${JSON.stringify(result)}`);
  }
}

/** Resolves when `pending` fails with mcpd's answer; an answer or mcpd's silence is an error. */
async function refused(pending: Promise<unknown>, what: string): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await pending;
  } catch (error) {
    if (error instanceof McpError && error.code === Number(ErrorCode.RequestTimeout)) {
      throw new Error(`mcpd neither answered nor refused ${what} within ${REFUSAL_MS} ms`, { cause: error });
    }
    process.stderr.write(`conformance host: mcpd refused ${what}, as the scenario expects: ${error instanceof Error ? error.message : String(error)}\n`);
    return;
  }
  throw new Error(`expected mcpd to refuse ${what}, but it answered ${JSON.stringify(outcome)}`);
}

async function main(): Promise<void> {
  const url = process.argv.at(-1);
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
  const steps = SCENARIOS[scenario];
  if (!url?.startsWith('http')) throw new Error(`usage: host.js URL (the runner appends it), got ${String(url)}`);
  if (!steps) throw new Error(`the host does not know the scenario "${scenario}"; it knows ${Object.keys(SCENARIOS).join(', ')}`);
  const s = await sandbox();
  const browserLog = join(s.dir, 'browser.log');
  const transports: StdioClientTransport[] = [];
  let stderr = '';
  try {
    const { oauth, secrets } = await authSetup(scenario, process.env.MCP_CONFORMANCE_CONTEXT, s);
    await s.writeConfig({ mcpServers: { remote: { url, ...(oauth && { oauth }) } } });
    const env = {
      ...s.env,
      BROWSER: fixture('browser-fetch.js'),
      MCPD_TEST_BROWSER_LOG: browserLog,
      // A port the kernel found free rather than the shared 8085–8099, which other tests and
      // other users of a CI machine may hold.
      MCPD_OAUTH_CALLBACK_PORT: String(await freePort()),
    };
    await steps(async (options) => {
      // mcpd's stderr goes on to the host's, which the runner saves with the scenario's results.
      const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', 'remote'], env, stderr: 'pipe' });
      transports.push(transport);
      transport.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        process.stderr.write(chunk);
      });
      const client = new Client({ name: 'mcpd-conformance-host', version: '1.0.0' });
      await client.connect(transport, options);
      return client;
    });
    await Promise.all(transports.map((t) => t.close()));
    // Stopped first, so that whatever the daemon writes on its way out is searched too.
    await s.cli(['stop']);
    const leaks = await findLeaks(s.dir, { "mcpd run's stderr": stderr }, secrets);
    if (leaks.length > 0) throw new Error(`a credential of the authorization server shows in clear in: ${leaks.join(', ')}`);
  } finally {
    await Promise.all(transports.map((t) => t.close()));
    const opened = await readFile(browserLog, 'utf8').catch(() => '');
    if (scenario.startsWith('auth/')) process.stderr.write(`conformance host: the browser stand-in ${opened ? `fetched:\n${opened}` : 'was not started'}\n`);
    await s.cleanup();
  }
}

await main();
