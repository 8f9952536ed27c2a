/** What the OAuth end-to-end tests share: a free callback port, the host app's session on `mcpd run`, a search of mcpd's files. */
import { readFile } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { cliMain } from './repo.js';
import type { Sandbox } from './sandbox.js';
import { filesUnder } from './files.js';


/** Files under `dir` that hold any of `values`, with the value's kind. */
export async function filesHolding(dir: string, values: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of await filesUnder(dir)) {
    const text = await readFile(file, 'latin1').catch(() => '');
    if (values.some((v) => text.includes(v))) found.push(file);
  }
  return found;
}

export interface Session {
  readonly client: Client;
  stderr(): string;
  close(): Promise<void>;
}

/** The SDK's Client on `mcpd run NAME`, as a host app runs it, with the browser stand-in. */
export async function open(s: Sandbox, name: string, env: Record<string, string>): Promise<Session> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', name], env: { ...s.env, ...env }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new Client({ name: 'mcpd-oauth-e2e', version: '1.0.0' });
  await client.connect(transport, { timeout: 60_000 });
  return { client, stderr: () => stderr, close: () => client.close() };
}

export async function whoami(client: Client): Promise<{ scopes: string[]; serial: number }> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  const text = (result.content as Array<{ type: string; text: string }>)[0]!.text;
  return JSON.parse(text) as { scopes: string[]; serial: number };
}

