/**
 * `mcpd auth pending`, `mcpd auth approve ID`, `mcpd auth deny ID`: the owner's answer to an
 * authorization request of mcpd's own authorization server (a listener's `oauth` provider),
 * given on the owner-only socket (or with a token holding admin) instead of on the consent page.
 */
import type { PendingConsent } from '../../daemon/protocol.js';
import { control } from '../../connect/daemon.js';
import { type DaemonOptions, output } from '../context.js';
import { table } from '../table.js';

export async function pending(options: DaemonOptions): Promise<void> {
  const waiting = await control(options, 'auth.pending');
  output(options, waiting, () => {
    if (waiting.length === 0) return 'no authorization request is waiting';
    const rows = waiting.map((c) => [c.id, c.client, c.redirectUri, c.resource, c.scopes.join(' ') || '-', c.createdAt.slice(0, 19).replace('T', ' ')]);
    return table([['ID', 'CLIENT', 'REDIRECT URI', 'RESOURCE', 'SCOPES', 'ASKED'], ...rows]);
  });
}

export async function decide(id: string, approve: boolean, options: DaemonOptions): Promise<void> {
  const consent = await control(options, 'auth.decide', { id, approve });
  output(options, consent, () => describe(consent));
}

function describe(c: PendingConsent): string {
  const what = c.decision === 'approved' ? 'approved' : 'denied';
  return `${what} request ${c.id}: "${c.client}" ${c.decision === 'approved' ? 'gets a token for' : 'is refused'} ${c.resource}; its browser page moves on by itself`;
}
