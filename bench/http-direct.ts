/**
 * The in-process clients of a remote server that bench/remote and bench/floor-remote measure
 * mcpd against: the SDK's Streamable HTTP transport, and plain fetch (bare-post.ts). Both make
 * the same calls as the stdio variants (rpc.ts's Calls), with the bench's token in the header.
 */
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BarePost } from './bare-post.js';
import { Calls, INIT_PARAMS } from './rpc.js';
import { writeFile } from 'node:fs/promises';
import { startEverything } from '../test/helpers/remote.js';
import { prepareHome, TOKEN } from './setup.js';

export const AUTHORIZATION = `Bearer ${TOKEN}`;

/** The same calls as the stdio variants make, over the SDK's transport in this process. */
export class DirectCalls extends Calls {
  constructor(readonly transport: StreamableHTTPClientTransport) {
    super();
    transport.onmessage = (message) => this.onMessage(JSON.stringify(message), process.hrtime.bigint());
  }

  protected write(messages: string[]): void {
    // A send cut short by the session's close must not end the bench as an unhandled rejection.
    for (const text of messages) this.transport.send(JSON.parse(text) as JSONRPCMessage).catch((error: unknown) => this.failAll(error as Error));
  }
}

/** The same calls again, each a bare fetch POST (no SDK), its answer stamped when its event is read. */
export class FetchCalls extends Calls {
  constructor(readonly client: BarePost) {
    super();
  }

  protected write(messages: string[]): void {
    for (const text of messages) {
      this.client.post(text, (line) => this.onMessage(line, process.hrtime.bigint())).catch((error: unknown) => this.failAll(error as Error));
    }
  }
}

/** Initializes `rpc` (started at `t0`); resolves with its time to the initialize result, in ms. */
async function initialize(rpc: Calls, t0: bigint): Promise<number> {
  const init = await rpc.call('initialize', INIT_PARAMS);
  rpc.notify('notifications/initialized');
  return Number(init.at - t0) / 1e6;
}

/** A connected SDK client; resolves after initialize (its time in ms). */
export async function direct(url: string): Promise<{ rpc: DirectCalls; initMs: number }> {
  const t0 = process.hrtime.bigint();
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: AUTHORIZATION } } });
  await transport.start();
  const rpc = new DirectCalls(transport);
  return { rpc, initMs: await initialize(rpc, t0) };
}

export async function closeDirect(rpc: DirectCalls): Promise<void> {
  await rpc.transport.terminateSession().catch(() => {});
  await rpc.transport.close();
}

/** A connected plain-fetch client; resolves after initialize (its time in ms). */
export async function fetchDirect(url: string): Promise<{ rpc: FetchCalls; initMs: number }> {
  const t0 = process.hrtime.bigint();
  const rpc = new FetchCalls(new BarePost(url, { authorization: AUTHORIZATION }));
  return { rpc, initMs: await initialize(rpc, t0) };
}

/**
 * What the remote benches start from: server-everything in its Streamable HTTP mode on loopback,
 * and a throwaway home whose config has it as url server `remote`, its Authorization header from
 * the local store.
 */
export async function remoteBench() {
  const server = await startEverything('streamableHttp');
  const url = `${server.origin}/mcp`;
  const bench = await prepareHome();
  const config = { mcpServers: { remote: { url, headers: { Authorization: 'Bearer ${local:bench/token}' } } }, providers: { local: { type: 'local', key: 'file' } } };
  await writeFile(bench.env.MCPD_CONFIG, JSON.stringify(config));
  return { server, url, bench };
}
