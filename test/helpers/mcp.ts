/** What the tests ask of a real MCP server through the SDK Client. */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

/** The server's environment, as server-everything's `get-env` tool reports it. */
export async function serverEnv(client: Client): Promise<Record<string, string>> {
  const result = await client.callTool({ name: 'get-env', arguments: {} });
  const [first] = result.content as Array<{ type: string; text: string }>;
  return JSON.parse(first!.text) as Record<string, string>;
}
