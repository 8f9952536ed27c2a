/**
 * The bare relays bench/floor and bench/launch measure mcpd against: bare-relay.ts `listen` on a
 * Unix socket in the throwaway home, spawning the server for each connection, and the paths that
 * reach it through one hop or two.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Variant } from './rpc.js';

const relay = fileURLToPath(new URL('./bare-relay.js', import.meta.url));

/** A bare-relay.ts `listen` on `socket`, started and answering; `server` is the command it spawns per connection. */
export class BareListener {
  private constructor(readonly socket: string, readonly server: string[], private readonly child: ChildProcess) {}

  static async start(socket: string, server: string[], env: Record<string, string>): Promise<BareListener> {
    const child = spawn(process.execPath, [relay, 'listen', socket, '--', ...server], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const [ready] = await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => [undefined])]) as [unknown];
    if (ready === undefined) throw new Error(`bare-relay.js listen ${socket} exited before listening`);
    return new BareListener(socket, server, child);
  }

  /** The daemon path's shape with nothing in it: stdio → bare-relay.js connect → this socket → the server. */
  twoHops(name: string): Variant {
    return { name, command: process.execPath, args: [relay, 'connect', this.socket] };
  }

  /** One relay process between the client and the server, over pipes only. */
  oneHop(name: string): Variant {
    return { name, command: process.execPath, args: [relay, 'spawn', '--', ...this.server] };
  }

  stop(): void {
    this.child.kill();
  }
}
