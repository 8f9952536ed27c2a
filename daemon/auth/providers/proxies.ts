/**
 * The addresses a `forwarded` provider trusts: IPv4 or IPv6 addresses and CIDR ranges, matched
 * by Node's own `net.BlockList` (the matcher Node's sockets use), never by CIDR arithmetic of
 * ours. An address is written as Node's `net.isIP` accepts it: no shorthand such as `127.1`
 * or a leading zero that other parsers read as octal, so the config means one thing only.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';

interface Range { readonly address: string; readonly prefix: number | undefined; readonly family: 'ipv4' | 'ipv6' }

function parse(text: string): Range | undefined {
  const [address = '', bits, extra] = text.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) return { address, prefix: undefined, family };
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix <= (version === 4 ? 32 : 128))) return undefined;
  return { address, prefix, family };
}

/** Why `text` is not an address or CIDR range, or undefined when it is one. */
export function proxyProblem(text: string): string | undefined {
  return parse(text) ? undefined : `"${text}" is not an IP address or a CIDR range`;
}

/** The peer address as the config writes it: an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, from a dual-stack socket) as plain IPv4. */
export function normalisePeer(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const mapped = /^::ffff:(.+)$/i.exec(address)?.[1];
  return mapped !== undefined && isIPv4(mapped) ? mapped : address;
}

/** A matcher of the peer addresses in `entries` (already checked at config load). */
export function trustedProxies(entries: readonly string[]): (peer: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const range = parse(entry);
    if (!range) continue; // refused at config load (config/listen-checks.ts): never trusted here
    if (range.prefix === undefined) list.addAddress(range.address, range.family);
    else list.addSubnet(range.address, range.prefix, range.family);
  }
  return (peer) => {
    const address = normalisePeer(peer);
    const version = address === undefined ? 0 : isIP(address);
    return version !== 0 && list.check(address!, version === 4 ? 'ipv4' : 'ipv6');
  };
}
