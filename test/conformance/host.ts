/**
 * The client command the MCP conformance runner starts (`conformance client --command "node
 * dist/test/conformance/host.js"`): the runner appends its test server's URL and names the
 * scenario in MCP_CONFORMANCE_SCENARIO. The host writes a throwaway mcpd config with that URL as
 * the remote server `remote`, and the SDK's own Client talks to `mcpd run remote` on stdio
 * (through the daemon, which autostarts and is stopped at the end): what the runner checks is
 * what mcpd's bridge sent it. Runs under the Node mcpd supports; only the runner needs Node 22.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { cliMain } from '../helpers/repo.js';
import { sandbox } from '../helpers/sandbox.js';

/** What each scenario expects the client to do once initialized (read from the runner's scenario code). */
const SCENARIOS: Record<string, (client: Client) => Promise<void>> = {
  // The runner checks the initialize request (protocol version, client name and version).
  initialize: async (client) => { await client.listTools(); },
  // The runner checks add_numbers was called, and with what; the host checks the answer.
  tools_call: async (client) => {
    await client.listTools();
    const result = await client.callTool({ name: 'add_numbers', arguments: { a: 2, b: 3 } });
    expectText(result, 'The sum of 2 and 3 is 5');
  },
  // The server closes the call's SSE stream after a priming event (retry: 500): the bridge must
  // reconnect by GET with Last-Event-ID after that delay, where the server sends the answer.
  'sse-retry': async (client) => {
    await client.listTools();
    // After notifications/initialized the SDK's transport in the daemon opens its standalone GET
    // stream. Should that GET land after the tool call's POST, the runner takes it for the
    // reconnection and times the retry from it (0 ms: a failure, seen on a loaded CI machine).
    // Nothing of the runner's is visible from here, so the call waits for that GET to be made.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
    expectText(result, 'Reconnection test completed successfully');
  },
};

function expectText(result: unknown, text: string): void {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  if (!content.some((c) => c.type === 'text' && c.text === text)) {
    throw new Error(`expected the tool to answer "${text}", got ${JSON.stringify(result)}`);
  }
}

async function main(): Promise<void> {
  const url = process.argv.at(-1);
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
  const steps = SCENARIOS[scenario];
  if (!url?.startsWith('http')) throw new Error(`usage: host.js URL (the runner appends it), got ${String(url)}`);
  if (!steps) throw new Error(`the host does not know the scenario "${scenario}"; it knows ${Object.keys(SCENARIOS).join(', ')}`);
  const s = await sandbox();
  try {
    await s.writeConfig({ mcpServers: { remote: { url } } });
    // mcpd's stderr is the host's: the runner saves it with the scenario's results.
    const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', 'remote'], env: s.env, stderr: 'inherit' });
    const client = new Client({ name: 'mcpd-conformance-host', version: '1.0.0' });
    await client.connect(transport);
    await steps(client);
    await client.close();
  } finally {
    await s.cleanup();
  }
}

await main();
