/**
 * The daemon's warm pools, one per command server with `warm` (supervisor/warm-pool.ts), kept in
 * line with the config: a reload rebuilds the pool of a server whose definition changed and
 * leaves the others' processes alone; a removed server's pool is stopped.
 */
import { isDeepStrictEqual } from 'node:util';
import ms from 'ms';
import type { Env } from '../core/paths.js';
import { needsTheUser } from './config/needs-user.js';
import { type Config, isRemote, type ServerConfig } from './config/schema.js';
import type { PoolStatus } from './protocol.js';
import type { PoolDeps } from './supervisor/warm-pool.js';
import { WarmPool } from './supervisor/warm-pool.js';
import type { WarmInstance } from './supervisor/warm-instance.js';

/** What a pool of server `name` is built from; `server` is the definition it was built for. */
export type MakePoolDeps = (name: string) => PoolDeps;

export class WarmPools {
  readonly #pools = new Map<string, { server: ServerConfig; pool: WarmPool }>();
  readonly #deps: MakePoolDeps;
  readonly #env: Env;
  #closed = false;

  constructor(deps: MakePoolDeps, env: Env) {
    this.#deps = deps;
    this.#env = env;
  }

  /** Brings the pools in line with `config` and fills them: new ones built, changed ones (and `changed`: a provider they use changed) rebuilt, removed ones stopped. */
  async configure(config: Config, changed: readonly string[] = []): Promise<void> {
    if (this.#closed) return;
    const stopping: Array<Promise<void>> = [];
    for (const [name, { server, pool }] of this.#pools) {
      const now = config.mcpServers[name];
      if (now && isDeepStrictEqual(now, server) && !changed.includes(name)) continue;
      this.#pools.delete(name);
      stopping.push(pool.stop());
    }
    // The old processes go first: a changed definition's new pool must not overlap them.
    await Promise.all(stopping);
    for (const [name, server] of Object.entries(config.mcpServers)) {
      if (this.#closed || this.#pools.has(name) || isRemote(server) || server.warm === 0) continue;
      const pool = new WarmPool({
        name,
        warm: server.warm,
        ttlMs: server.ttl === undefined ? undefined : ms(server.ttl as ms.StringValue),
        held: needsTheUser(name, server, config, this.#env),
      }, this.#deps(name));
      this.#pools.set(name, { server, pool });
      pool.fill();
    }
  }

  /** A running pooled instance of `name` for session `session`, or undefined at once. */
  take(name: string, session: string): WarmInstance | undefined {
    return this.#closed ? undefined : this.#pools.get(name)?.pool.take(session);
  }

  /** `mcpd stop NAME`: no pooled process of it is left; the next session of it fills the pool again. */
  stop(name: string): Promise<void> {
    return this.#pools.get(name)?.pool.stop() ?? Promise.resolve();
  }

  /** Replaces the pooled instances of every server `which` picks with fresh ones (rotation, `mcpd restart`). */
  async refresh(which: (name: string, server: ServerConfig) => boolean, reason: string): Promise<void> {
    await Promise.all([...this.#pools].filter(([name, { server }]) => which(name, server)).map(([, { pool }]) => pool.refresh(reason)));
  }

  status(name: string): PoolStatus | undefined {
    return this.#pools.get(name)?.pool.status();
  }

  /** The daemon stops: every pool with it, for good. */
  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map(({ pool }) => pool.stop()));
  }
}
