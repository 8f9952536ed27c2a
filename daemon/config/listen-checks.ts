/**
 * What the schema alone cannot judge about listeners, clients and roles, checked when the
 * config is loaded: a listener beyond loopback needs TLS or a trusted reverse proxy in front,
 * `none` only on a loopback TCP port, `forwarded` only on a TCP port (a proxy is known by its
 * address), `oauth` only where its issuer is https or loopback, every role named exists, every proxy is an address or a CIDR range. Each message gives the JSON path and the fix.
 */
import { McpdError } from '../../core/errors.js';
import { own } from '../../core/own.js';
import { proxyProblem } from '../auth/providers/proxies.js';
import { type Config, isLoopbackHost } from './schema.js';

/** Throws CONFIG_INVALID naming `file` and the first entry at fault. */
export function checkListeners(config: Config, file: string): void {
  const fail = (where: string, message: string, hint: string) => new McpdError('CONFIG_INVALID', `${file}: ${where}: ${message}`, { hint });
  const knownRoles = Object.keys(config.roles).sort();
  const checkRoles = (roles: readonly string[], where: string) => roles.forEach((role, i) => {
    if (own(config.roles, role)) return;
    throw fail(`${where}[${i}]`, `no role named "${role}" in "roles"; known roles: ${knownRoles.length ? knownRoles.join(', ') : '(none)'}`, `define "${role}" under "roles" (README "Roles"), or name one of the known roles`);
  });

  for (const [name, client] of Object.entries(config.clients)) checkRoles(client.roles, `clients.${name}.roles`);
  config.socket.listen.forEach((spec, n) => {
    const base = `socket.listen[${n}]`;
    spec.auth.forEach((entry, m) => {
      const where = `${base}.auth[${m}]`;
      if (entry.type === 'none') {
        const place = 'port' in spec ? (isLoopbackHost(spec.host) ? undefined : `a TCP listener on "${spec.host}", which is not a loopback address`) : `a unix socket shared with others (${spec.path})`;
        if (place) throw fail(where, `"none" admits every request without credentials, which only a TCP listener on a loopback host (127.0.0.1, ::1, localhost) may do; this is ${place}`, `remove this entry, or use {"type": "bearer"} (mcpd token create NAME --role ...) or a "forwarded" provider`);
        checkRoles(entry.roles, `${where}.roles`);
      }
      if (entry.type === 'forwarded') {
        if (!('port' in spec)) throw fail(where, `"forwarded" trusts a reverse proxy by its address, and a connection on a unix socket (${spec.path}) has none: it would refuse every request`, 'put the reverse proxy in front of a TCP listener ({"host": ..., "port": ...}), or use {"type": "bearer"} here');
        entry.proxies.forEach((proxy, k) => {
          const problem = proxyProblem(proxy);
          if (problem) throw fail(`${where}.proxies[${k}]`, problem, 'give the reverse proxy\'s address or range as Node writes it, e.g. "127.0.0.1", "10.0.0.0/8", "::1" or "fd00::/8"');
        });
        for (const [group, roles] of Object.entries(entry.groupRoles)) checkRoles(roles, `${where}.groupRoles.${group}`);
      }
      if (entry.type === 'oauth') {
        checkRoles(entry.roles, `${where}.roles`);
        const issuer = oauthIssuerProblem(spec);
        if (issuer) throw fail(where, `mcpd's authorization server is at the listener's origin, and an issuer must be https unless it is localhost or 127.0.0.1 (RFC 8414); ${issuer}`, `set ${base}.publicUrl to the https URL clients reach (a tunnel's or proxy's), or add "tls" to ${base}`);
      }
    });
    if ('port' in spec && !isLoopbackHost(spec.host) && !spec.tls && !spec.auth.some((entry) => entry.type === 'forwarded')) {
      throw fail(`${base}.host`, `"${spec.host}" is not a loopback address: a listener others can reach needs "tls" (its cert and key) or a "forwarded" provider in its "auth" (a reverse proxy that signs users in, in front)`, `add "tls": {"cert": "PATH", "key": "PATH"} or {"type": "forwarded", "proxies": [...]} to ${base}, or listen on 127.0.0.1`);
    }
  });
}

/** Why the `oauth` issuer of listener `spec` (its publicUrl, else its scheme and Host) could be plain http on another name than localhost or 127.0.0.1 (all the SDK's router takes); undefined when it cannot. */
function oauthIssuerProblem(spec: Config['socket']['listen'][number]): string | undefined {
  const plainOk = (host: string) => host === 'localhost' || host === '127.0.0.1';
  if (spec.publicUrl !== undefined) {
    const url = new URL(spec.publicUrl);
    return url.protocol === 'https:' || plainOk(url.hostname) ? undefined : `its publicUrl "${spec.publicUrl}" is http on a name other than localhost or 127.0.0.1`;
  }
  if (!('port' in spec) || spec.tls) return undefined;
  if (!plainOk(spec.host)) return `this plain-http listener on "${spec.host}" is reached by a name other than localhost or 127.0.0.1`;
  if (spec.allowedHosts?.length) return `this plain-http listener is reached by ${spec.allowedHosts.map((h) => `"${h}"`).join(', ')} (its allowedHosts)`;
  return undefined;
}
