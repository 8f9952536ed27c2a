/**
 * `mcpd token create NAME --scope S… --role R… [--expires 30d]`, `mcpd token ls`, `mcpd token revoke NAME`.
 * The daemon owns the token store (only SHA-256s); a new token is printed once, alone on
 * stdout so `TOKEN=$(mcpd token create …)` works, and never again.
 */
import type { TokenInfo } from '../../daemon/protocol.js';
import { output, type DaemonOptions } from '../context.js';
import { control, ensureDaemon } from '../../connect/daemon.js';
import { table } from '../table.js';

export async function create(name: string, options: DaemonOptions & { scope: string[]; role: string[]; expires?: string }): Promise<void> {
  await ensureDaemon(options);
  const params = { name, scopes: options.scope, ...(options.role.length ? { roles: options.role } : {}), ...(options.expires === undefined ? {} : { expires: options.expires }) };
  const { token, info } = await control(options, 'token.create', params);
  if (options.json) return output(options, { token, ...info }, () => '');
  const grants = [...info.scopes, ...info.roles.map((role) => `role ${role}`)];
  process.stderr.write(`mcpd: created token "${info.name}" with ${grants.join(', ')}${info.expiresAt ? `, expires ${info.expiresAt}` : ', no expiry'}; it is shown only this once\n`);
  process.stdout.write(`${token}\n`);
}

export async function list(options: DaemonOptions): Promise<void> {
  const tokens = await control(options, 'token.list');
  output(options, tokens, () => {
    if (tokens.length === 0) return 'no client tokens (mcpd token create NAME --scope launch:SERVER makes one)';
    const rows = tokens.map((t) => [t.client ? `${t.name} (${t.client})` : t.name, t.scopes.join(',') || '-', t.roles.join(',') || '-', day(t.createdAt), day(t.expiresAt) || 'never', t.lastUsedAt ?? 'never', state(t)]);
    return table([['NAME', 'SCOPES', 'ROLES', 'CREATED', 'EXPIRES', 'LAST USED', 'STATE'], ...rows]);
  });
}

export async function revoke(name: string, options: DaemonOptions): Promise<void> {
  const result = await control(options, 'token.revoke', { name });
  output(options, result, () => `revoked token "${name}"; closed ${result.sessionsClosed} open session${result.sessionsClosed === 1 ? '' : 's'}`);
}

function state(t: TokenInfo): string {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= Date.now()) return 'expired';
  return t.source === 'state' ? 'active' : `active (${t.source})`;
}

function day(iso: string | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '';
}
