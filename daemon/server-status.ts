/**
 * How `mcpd status` sums up one server from the instances its sessions run: the liveliest
 * instance's state wins, and the references its definition uses are listed by name, never value.
 */
import { showRef } from '../providers/provider.js';
import { refsOf } from '../providers/reference.js';
import { isRemote, type ServerConfig } from './config/schema.js';
import type { InstanceStatus, PoolStatus, ServerState, ServerStatus } from './protocol.js';

const PRECEDENCE: readonly ServerState[] = ['running', 'starting', 'restarting', 'failed', 'stopped'];

/** `failure`: why the server's last instance gave up, if none runs now; `pool`: its warm pool, if it has one. */
export function serverStatus(name: string, server: ServerConfig, instances: InstanceStatus[], failure: string | undefined, pool?: PoolStatus): ServerStatus {
  // With no instance left, a server whose last one gave up stays 'failed' until a session starts it again.
  const state = PRECEDENCE.find((s) => instances.some((i) => i.state === s)) ?? (failure ? 'failed' : 'stopped');
  const lastError = instances.map((i) => i.lastError).find((e) => e !== undefined) ?? failure;
  const texts = isRemote(server) ? Object.values(server.headers) : [server.command, ...server.args, server.cwd ?? '', ...Object.values(server.env)];
  const refs = [...new Set(texts.flatMap((text) => refsOf(text, `mcpServers.${name}`).map(showRef)))];
  return { name, state, command: isRemote(server) ? server.url : server.command, refs, sessions: instances.length, instances, restarts: instances.reduce((n, i) => n + i.restarts, 0), lastError, ...(pool ? { pool } : {}) };
}
