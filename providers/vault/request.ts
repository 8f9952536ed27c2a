/**
 * How node-vault's requests go out: through axios (node-vault's own HTTP library) with mcpd's
 * settings rather than node-vault's. node-vault lets axios follow redirects with X-Vault-Token
 * attached, to any host (axios drops only Authorization and Cookie headers on a cross-host hop);
 * here a redirect is followed only within the Vault address's own origin (scheme, host and
 * port), and one that leaves it is refused before anything is sent there. TLS verification is
 * always on: node-vault would turn it off for a $VAULT_SKIP_VERIFY in the daemon's environment.
 */
import type { AxiosResponse, AxiosStatic } from 'axios';
import { createRequire } from 'node:module';
import { Agent } from 'node:https';

// Required at first use, as node-vault is (client.ts): a config without Vault should not pay for axios.
let axios: AxiosStatic | undefined;
const loadAxios = (): AxiosStatic => (axios ??= createRequire(import.meta.url)('axios') as AxiosStatic);

export interface RequestTarget {
  readonly timeoutMs: number;
  readonly ca?: Buffer | undefined;
  readonly serverName?: string | undefined;
}

/** What node-vault hands its request function (the former `request` library's options). */
interface NodeVaultOptions {
  readonly method: string;
  readonly uri: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
}

/** What node-vault expects back. */
interface NodeVaultResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly request: { readonly path: string };
}

/** Vault answered with a redirect to another origin; nothing was sent there. */
export class CrossOriginRedirect extends Error {
  constructor(readonly from: string, readonly to: string) {
    super(`redirected from ${from} to ${to}`);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Vault itself redirects with 307 (a standby node pointing at the active one); only the kinds that keep the method and body are followed.
const FOLLOWED = new Set([307, 308]);
const MAX_HOPS = 3;

/** The `request-promise` stand-in node-vault accepts: `{ defaults() }` returning the request function. */
export function vaultRequest(target: RequestTarget): { defaults: () => (options: NodeVaultOptions) => Promise<NodeVaultResponse> } {
  const httpsAgent = new Agent({ rejectUnauthorized: true, ...(target.ca ? { ca: target.ca } : {}), ...(target.serverName ? { servername: target.serverName } : {}) });
  const send = (method: string, url: URL, options: NodeVaultOptions): Promise<AxiosResponse> => loadAxios().request({
    method,
    url: url.href,
    headers: { ...options.headers },
    data: options.json !== null && typeof options.json === 'object' ? options.json : undefined,
    timeout: target.timeoutMs,
    httpsAgent,
    maxRedirects: 0,
    // Every status reaches node-vault, which turns Vault's error bodies into errors.
    validateStatus: () => true,
  });
  const request = async (options: NodeVaultOptions): Promise<NodeVaultResponse> => {
    const first = new URL(options.uri);
    let url = first;
    let response = await send(options.method, url, options);
    for (let hop = 0; REDIRECTS.has(response.status); hop++) {
      const location = response.headers.location as unknown;
      // One that does not parse is not followed: node-vault reports the status.
      if (typeof location !== 'string' || !URL.canParse(location, url.href)) break;
      const next = new URL(location, url);
      if (next.origin !== first.origin) throw new CrossOriginRedirect(first.origin, next.origin);
      // Any other redirect reaches node-vault as the error status it is.
      if (!FOLLOWED.has(response.status) || hop === MAX_HOPS) break;
      url = next;
      response = await send(options.method, url, options);
    }
    return { statusCode: response.status, body: response.data, request: { path: url.pathname } };
  };
  return { defaults: () => request };
}

/**
 * Whether `address` is http:// to anything but this machine (127.0.0.0/8, ::1, localhost), where
 * the token would cross a network in the clear. Judged on the URL as WHATWG parses it, which is
 * what the request is made from, so `http://0x7f.1` counts as the 127.0.0.1 it connects to.
 */
export function plainHttpElsewhere(address: string): boolean {
  const url = new URL(address);
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  return !(host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host));
}
