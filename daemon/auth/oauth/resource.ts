/**
 * The endpoint an authorization request names (RFC 8707 `resource`), in the one spelling the
 * listener gives an endpoint (gateway/resource-metadata.ts: ORIGIN/mcp/NAME, NAME
 * percent-encoded with encodeURIComponent): a grant stores it, the consent page shows it, and
 * the `oauth` provider compares it with the endpoint a request reaches, byte for byte.
 */
import { MCP_PATH } from '../../gateway/gateway.js';

/** `resource` as ORIGIN/mcp/NAME when it names one server's endpoint at `origin`; undefined otherwise. */
export function canonicalResource(resource: URL, origin: string): string | undefined {
  if (resource.origin !== origin || resource.search || resource.hash || !resource.pathname.startsWith(MCP_PATH)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(resource.pathname.slice(MCP_PATH.length));
  } catch {
    return undefined;
  }
  // As the gateway routes: one name, no path below it.
  if (name === '' || name.includes('/')) return undefined;
  return `${origin}${MCP_PATH}${encodeURIComponent(name)}`;
}
