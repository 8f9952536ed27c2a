/**
 * The paths whose client is the bench's own process, as a host app's would be:
 *
 * - `mcpd/client`: a session through `mcpdTransport` (client/index.ts), the transport a host app
 *   written in TypeScript embeds. One hop: this process → the daemon's socket → the server.
 * - a bare socket hop: this process → a Unix socket → bare-relay.ts `listen` → the server, the
 *   least one hop can cost (the floor under mcpd/client's figures).
 * - direct, parsed, and a bare socket hop, parsed: each message read as mcpd/client reads its
 *   frames (the bytes, their text, JSON.parse, the SDK's JSONRPCMessageSchema). The raw readers
 *   skip that work; every transport that hands a host app messages does it, so the parsed hop
 *   is the floor under mcpd/client's bulk rate.
 * - direct on the SDK's StdioClientTransport: what a host app written in TypeScript runs when it
 *   spawns the server itself, the alternative to mcpd/client.
 *
 * Both make the same calls as the stdio variants (rpc.ts's Calls), so the figures compare.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type Socket, connect } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { mcpdTransport } from '../client/index.js';
import { Calls, INIT_PARAMS, killGroup, root } from './rpc.js';

/** A path opened by this process: the name the tables print, and how to open one session on it. */
export interface InProcess { name: string; open: () => Promise<Closable> }
type Closable = Calls & { close(): Promise<void> };

/** The calls through an MCP SDK Transport: each answer is stamped when the transport hands it over, parsed, as a host app gets it. */
class TransportCalls extends Calls {
  constructor(readonly transport: Transport) {
    super();
    transport.onmessage = (message) => {
      const at = process.hrtime.bigint();
      this.tap?.(JSON.stringify(message));
      this.settle(message as { id?: unknown }, at, textLength(message));
    };
    transport.onclose = () => this.failAll(new Error('the session closed'));
    transport.onerror = (error) => this.failAll(error);
  }

  protected write(messages: string[]): void {
    for (const text of messages) this.transport.send(JSON.parse(text) as JSONRPCMessage).catch((error: unknown) => this.failAll(error as Error));
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/**
 * The bulk check (measure.ts) asks for an answer at least as long as the text asked for; a
 * transport hands over objects, so the length is the tool result's text (the line's ~100 bytes
 * of JSON around it are not counted: 1e-5 of 10 MiB).
 */
function textLength(message: JSONRPCMessage): number {
  const content = (message as { result?: { content?: Array<{ text?: unknown }> } }).result?.content;
  const text = Array.isArray(content) ? content[0]?.text : undefined;
  return typeof text === 'string' ? text.length : 0;
}

/** Newline-delimited JSON-RPC over a Unix socket, read as the stdio client reads a pipe. */
class SocketCalls extends Calls {
  constructor(readonly socket: Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onText(chunk));
    socket.on('close', () => this.failAll(new Error('the bare relay closed the socket')));
    socket.on('error', (error) => this.failAll(error));
  }

  protected write(messages: string[]): void {
    this.socket.write(`${messages.join('\n')}\n`);
  }

  async close(): Promise<void> {
    if (this.socket.closed) return;
    const closed = once(this.socket, 'close');
    this.socket.end();
    await closed;
  }
}

/** Server `name` through mcpd/client, on the daemon at `socket` (never started here: the bench starts it). */
export function viaClient(label: string, name: string, socket: string): InProcess {
  return {
    name: label,
    open: async () => {
      const transport = await mcpdTransport(name, { socket, autostart: false });
      const rpc = new TransportCalls(transport);
      await transport.start();
      return rpc;
    },
  };
}

/**
 * Newline-delimited JSON-RPC read as a Transport that parses each message as mcpd/client's
 * does (see the top): over a server's stdio, or over a socket to bare-relay.ts.
 */
class ParsedLines implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** The line not yet complete, as its chunks: joined once, when its newline comes. */
  #parts: Buffer[] = [];
  readonly #ended: Promise<unknown>;

  /** `ended` settles when the other side is gone; `finish` ends our side and waits for it. */
  constructor(input: Readable, private readonly output: Writable, ended: Promise<unknown>, private readonly finish: () => void) {
    input.on('data', (chunk: Buffer) => this.#read(chunk));
    output.on('error', () => undefined);
    this.#ended = ended.finally(() => this.onclose?.());
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    this.output.write(`${JSON.stringify(message)}\n`);
  }

  async close(): Promise<void> {
    this.finish();
    await this.#ended;
  }

  #read(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.#parts.push(chunk.subarray(start, nl));
      const line = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
      this.#parts = [];
      start = nl + 1;
      const parsed = JSONRPCMessageSchema.safeParse(JSON.parse(line.toString()));
      if (parsed.success) this.onmessage?.(parsed.data);
      else this.onerror?.(new Error('the server sent a message that is not JSON-RPC'));
    }
    if (start < chunk.length) this.#parts.push(chunk.subarray(start));
  }
}

/** A path read through the Transport `open` gives (ParsedLines, or the SDK's stdio transport). */
function viaTransport(label: string, open: () => Promise<Transport>): InProcess {
  return {
    name: label,
    open: async () => {
      const transport = await open();
      const rpc = new TransportCalls(transport);
      await transport.start();
      return rpc;
    },
  };
}

/** Direct, parsed in this process as a transport must (see the top). */
export function viaParsedStdio(label: string, command: string, args: string[], env: Record<string, string>): InProcess {
  return viaTransport(label, async () => {
    const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
    return new ParsedLines(child.stdout, child.stdin, once(child, 'exit'), () => {
      child.stdin.end();
      const timer = setTimeout(() => killGroup(child.pid), 5000);
      child.once('exit', () => clearTimeout(timer));
    });
  });
}

/** A bare socket hop, parsed as a transport must: the least mcpd/client's one hop can cost (see the top). */
export function viaParsedSocket(label: string, socket: string): InProcess {
  return viaTransport(label, async () => {
    const connection = connect(socket);
    await once(connection, 'connect');
    return new ParsedLines(connection, connection, once(connection, 'close'), () => connection.end());
  });
}

/**
 * Direct on the SDK's StdioClientTransport in this process (see the top). Latency only: its
 * reader refuses a line over 10 MiB (ReadBuffer's limit), so it cannot carry the bulk answer.
 */
export function viaSdkStdio(label: string, command: string, args: string[], env: Record<string, string>): InProcess {
  return viaTransport(label, async () => {
    const transport = new StdioClientTransport({ command, args, env, cwd: root, stderr: 'ignore' });
    // Its send adds a 'drain' listener each time the pipe is full; a burst sent at once would
    // add hundreds. One send after another, each resolving once written, is the same burst.
    const send = transport.send.bind(transport);
    let last = Promise.resolve();
    transport.send = (message) => (last = last.then(() => send(message)));
    return transport;
  });
}

/** One bare hop: a connection to bare-relay.ts `listen` at `socket`, which spawns the server for it. */
export function viaBareSocket(label: string, socket: string): InProcess {
  return {
    name: label,
    open: async () => {
      const connection = connect(socket);
      await once(connection, 'connect');
      return new SocketCalls(connection);
    },
  };
}

/** Opens, initializes and runs `body`, as rpc.ts's `session` does for a spawned client; a path that stops answering fails after `watchdogMs`. */
export async function inProcessSession<T>(path: InProcess, body: (rpc: Calls, initMs: number) => Promise<T>, watchdogMs = 60_000): Promise<T> {
  const t0 = process.hrtime.bigint();
  const rpc = await path.open();
  const watchdog = setTimeout(() => rpc.failAll(new Error(`${path.name} did not finish within ${watchdogMs} ms`)), watchdogMs);
  try {
    const init = await rpc.call('initialize', INIT_PARAMS);
    rpc.notify('notifications/initialized');
    return await body(rpc, Number(init.at - t0) / 1e6);
  } finally {
    clearTimeout(watchdog);
    await rpc.close();
  }
}
