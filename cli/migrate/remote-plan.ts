/**
 * What `mcpd migrate` does with a host app's remote entry: a `url` (Claude Code, VS Code and
 * Cursor write it; Windsurf writes `serverUrl`) with its `headers` and a `type` (`http`,
 * `streamable-http`, `sse`, or none: Cursor infers it) becomes an mcpd url server; each literal
 * secret header value goes to the default store as `${secret:SERVER/header-name}`, an
 * authorization scheme (`Bearer `) kept literal in front of it. What cannot be moved safely (a
 * credential in the URL, the host's own `${…}` variables) is left, with why. Pure.
 */
import { judge } from './detect.js';
import type { KeptLiteral, SecretMove } from './plan.js';

export interface RemoteDefinition {
  url: string;
  type?: 'sse';
  headers: Record<string, string>;
}

export type RemotePlan =
  | { readonly definition: RemoteDefinition; readonly secrets: SecretMove[]; readonly kept: KeptLiteral[] }
  | { readonly skip: string };

/** Whether a host's entry is a remote server, as each host writes one. */
export function isRemoteEntry(server: Record<string, unknown>): boolean {
  return 'url' in server || 'serverUrl' in server || ['http', 'sse', 'streamable-http'].includes(String(server.type));
}

/** Header names whose value is a credential whatever it looks like. */
export const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
/** An authorization scheme: kept literal, so the stored secret is the token alone. */
const SCHEME = /^(Bearer|Basic|Token|Bot|ApiKey)\s+(?=\S)/i;

/** Plans the remote entry `server` of the host, to be server `name` of mcpd. */
export function planRemote(name: string, server: Record<string, unknown>): RemotePlan {
  if ('command' in server) return { skip: 'it has both "command" and a URL: mcpd cannot tell which the host app uses' };
  const url = server.url ?? server.serverUrl;
  if (typeof url !== 'string' || url === '') return { skip: 'a remote server without a "url" string' };
  if (url.includes('$')) return { skip: 'its URL uses one of the host app\'s own variables (${…}), or a "$" mcpd would read as one: move it by hand' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { skip: 'its URL is not one mcpd can read: fix it in the host\'s config, then migrate again' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { skip: `its URL is a ${parsed.protocol} one; mcpd connects to http and https URLs only` };
  // mcpd writes URLs to logs and status, so a URL holding a credential cannot move as is.
  const inUrl = parsed.username || parsed.password ? 'a user name or password' : judge('url', url).secret ? 'a credential' : undefined;
  if (inUrl) return { skip: `its URL carries ${inUrl}, and mcpd keeps URLs out of the store (they are logged): if the server takes it in a header, put it there, then migrate again` };
  const type = server.type === undefined ? 'http' : String(server.type);
  if (!['http', 'streamable-http', 'sse'].includes(type)) return { skip: `its "type" is "${type}", not one mcpd knows for a URL (http, streamable-http, sse)` };
  const headers = server.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || !Object.values(headers).every((v) => typeof v === 'string')) {
    return { skip: 'its "headers" is not an object of strings' };
  }
  const secrets: SecretMove[] = [];
  const kept: KeptLiteral[] = [];
  const newHeaders: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers as Record<string, string>)) {
    // The header's name becomes part of a reference's path: only the usual characters.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(header)) return { skip: `its header name "${header.slice(0, 40)}" is not one mcpd takes (letters, digits, _ . -): move it by hand` };
    if (value.includes('${')) return { skip: `its header ${header} uses one of the host app's own variables (\${…}), which mcpd cannot know: move it by hand` };
    const scheme = SCHEME.exec(value)?.[0] ?? '';
    const token = value.slice(scheme.length);
    const verdict = CREDENTIAL_HEADERS.has(header.toLowerCase()) && token !== '' ? { secret: true, why: '' } : judge(header, token);
    if (!verdict.secret) {
      newHeaders[header] = literal(value);
      kept.push({ variable: header, why: verdict.why });
      continue;
    }
    const ref = `secret:${name}/${header.toLowerCase()}`;
    secrets.push({ variable: header, ref, value: token });
    newHeaders[header] = `${literal(scheme)}\${${ref}}`;
  }
  return { definition: { url, ...(type === 'sse' ? { type: 'sse' as const } : {}), headers: newHeaders }, secrets, kept };
}

/** An mcpd url server as written, with the defaults a migrated one leaves out or spells out, for comparing. */
export function remoteWithDefaults(existing: Record<string, unknown>): unknown {
  const { type = 'http', headers = {}, ...rest } = existing;
  return { ...rest, headers, ...(type === 'http' ? {} : { type }) };
}

/** A host's literal as mcpd reads it back unchanged: `$` is mcpd's reference character. */
function literal(text: string): string {
  return text.replaceAll('$', '$$$$');
}
