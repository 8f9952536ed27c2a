/**
 * The loopback TCP listener's defence against DNS rebinding: a web page on another site can
 * point its own name at 127.0.0.1 and have the browser send requests to the daemon's port.
 * The browser still says which name it asked for (`Host`) and which page asked (`Origin`), so a
 * request is served only when its Host is a loopback name (`localhost`, `127.0.0.1`, `[::1]`,
 * any port) or one the listener allows (`allowedHosts`), and its Origin, when there is one,
 * is on such a name too. Both are read as the browser writes them: `host[:port]` and
 * `scheme://host[:port]`; anything else is refused.
 */
import type { IncomingMessage } from 'node:http';
import { McpdError } from '../../core/errors.js';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/** `host[:port]`, the host a name, an IPv4 address or a bracketed IPv6 address. */
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/;
/** An Origin as browsers serialise it: scheme, host, optional port, nothing else. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/;

/** Refuses (403) a request whose Host or Origin names anything but loopback or `allowed`. */
export function checkHostAndOrigin(req: IncomingMessage, allowed: readonly string[], where: string): void {
  const names = new Set([...LOOPBACK, ...allowed.map((name) => name.toLowerCase())]);
  const host = req.headers.host;
  if (!host || !names.has(HOST.exec(host.toLowerCase())?.[1] ?? '')) throw refused('Host', host, where);
  const origin = req.headers.origin;
  if (origin !== undefined && !names.has(ORIGIN.exec(origin.toLowerCase())?.[1] ?? '')) throw refused('Origin', origin, where);
}

function refused(header: string, value: string | undefined, where: string): McpdError {
  const shown = value === undefined ? 'no Host header' : `the ${header} header "${value.slice(0, 100)}"`;
  return new McpdError('REFUSED', `${where} refused a request with ${shown}: only localhost, 127.0.0.1, [::1] and the names in its allowedHosts may be used`, {
    hint: `connect through localhost or 127.0.0.1; a name such as host.docker.internal must be listed in ${where}.allowedHosts (a web page cannot reach the daemon this way)`,
  });
}
