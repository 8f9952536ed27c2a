/**
 * `mcpd doctor`'s checks of the url servers: for each, its header references resolve, and an
 * `initialize` through the link the daemon uses (daemon/remote/remote-link.ts, the same
 * origin-bound fetch, so the headers go to the server's own origin only) is answered as MCP;
 * the remote session is then closed (DELETE). A failure is classified as the bridge does
 * (REMOTE_UNREACHABLE, REMOTE_TLS, REMOTE_NOT_MCP, REMOTE_UNAUTHORIZED). A server mcpd signs
 * in to is asked with the stored token as it is: doctor looks, it never refreshes or opens a
 * sign-in. Header names and references are printed, never a value.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { asMcpdError } from '../../core/errors.js';
import type { LoadedConfig } from '../../daemon/config/load.js';
import { isRemote, type RemoteServerConfig } from '../../daemon/config/schema.js';
import { type PreparedRemote, prepareRemote, signsIn } from '../../daemon/remote/prepare-remote.js';
import type { AuthStatus } from '../../daemon/remote/oauth/auth-status.js';
import { SignIns } from '../../daemon/remote/oauth/sign-ins.js';
import { staticHeaders } from '../../daemon/remote/token-source.js';
import { systemClock } from '../../core/clock.js';
import type { FetchLike } from '../../daemon/remote/origin-fetch.js';
import { RemoteLink } from '../../daemon/remote/remote-link.js';
import { showRef } from '../../providers/provider.js';
import { refsOf } from '../../providers/reference.js';
import { CREDENTIAL_HEADERS } from '../migrate/remote-plan.js';
import { judge } from '../migrate/detect.js';
import type { GlobalOptions } from '../context.js';
import { openRegistry } from '../context.js';
import { mcpdVersion } from '../version.js';
import type { Check } from './doctor.js';

/** How long one server gets to answer `initialize`: doctor must not hang on a black hole. */
export const REMOTE_TIMEOUT_MS = 5_000;
const PROTOCOL_VERSION = '2025-06-18';

/** One check per url server of the config; none when it has none. */
export async function remoteChecks(loaded: LoadedConfig, options: GlobalOptions): Promise<Check[]> {
  const remotes = Object.entries(loaded.config.mcpServers).filter((entry): entry is [string, RemoteServerConfig] => isRemote(entry[1]));
  if (remotes.length === 0) return [];
  const registry = openRegistry(loaded, options);
  const signIns = new SignIns({ store: () => registry.get('secret'), clock: systemClock, env: process.env, log: () => {}, resolve: () => Promise.resolve({}) });
  let prepared: Array<[RemoteServerConfig, PreparedRemote | Check, SignIn | undefined]>;
  try {
    prepared = await Promise.all(remotes.map(async ([name, server]): Promise<[RemoteServerConfig, PreparedRemote | Check, SignIn | undefined]> => {
      const spec = await prepareRemote(name, server, `mcpServers.${name}`, registry, () => {}).catch((error: unknown): Check => {
        const e = asMcpdError(error, `the headers of ${name}`);
        return { subject: `remote ${name}`, status: 'fail', message: `its headers do not resolve, so it was not asked: ${e.message}`, ...(e.hint ? { fix: e.hint } : {}) };
      });
      if (!('kind' in spec) || !signsIn(spec)) return [server, spec, undefined];
      const auth = signIns.of(name, server);
      try {
        await auth.load();
        return [server, spec, { status: auth.status(), headers: auth.storedHeaders() }];
      } catch (error) {
        const e = asMcpdError(error, `the sign-in of ${name}`);
        return [server, { subject: `remote ${name}`, status: 'fail', message: `its sign-in record cannot be read: ${e.message}`, ...(e.hint ? { fix: e.hint } : {}) }, undefined];
      }
    }));
  } finally {
    // Header values and stored tokens are in hand: the connections need no backend.
    await registry.close();
  }
  return Promise.all(prepared.map(([server, spec, signIn]) => 'kind' in spec ? probe(server, spec, signIn) : spec));
}

/** What doctor knows of a server's sign-in: its state, and the Authorization it gives now. */
interface SignIn {
  readonly status: AuthStatus;
  readonly headers: Readonly<Record<string, string>>;
}

function describeSignIn({ status }: SignIn): string {
  if (status.method === 'token') return 'a token given to mcpd auth login';
  if (status.state !== 'signed-in') return `OAuth, ${status.state}`;
  const scopes = status.scopes?.length ? `, scopes ${status.scopes.join(' ')}` : '';
  return `OAuth, signed in with ${status.issuer ?? 'its authorization server'}${scopes}${status.expiresAt ? `, token expires ${status.expiresAt}` : ''}`;
}

/**
 * Which headers are sent and where each comes from; names and references only. A literal
 * credential in mcpd's config is a secret in a file: it is a warning, with the way out.
 */
function authState(name: string, server: RemoteServerConfig, spec: PreparedRemote): { text: string; literal: string[] } {
  const names = Object.keys(server.headers);
  if (names.length === 0) return { text: 'none ("oauth": false, no headers)', literal: [] };
  const literal: string[] = [];
  const parts = names.map((header) => {
    const refs = refsOf(server.headers[header]!, `mcpServers.${name}.headers.${header}`);
    if (refs.length === 0) {
      if (CREDENTIAL_HEADERS.has(header.toLowerCase()) || judge(header, server.headers[header]!).secret) literal.push(header);
      return `${header} (written in the config)`;
    }
    return `${header} from ${refs.map(showRef).join(', ')}${header in spec.headers ? '' : ' (empty, so not sent)'}`;
  });
  return { text: `header(s) ${parts.join('; ')}`, literal };
}

/** `initialize`, its answer, then the session closed; the result as one check. */
async function probe(server: RemoteServerConfig, spec: PreparedRemote, signIn: SignIn | undefined): Promise<Check> {
  const subject = `remote ${spec.name}`;
  let answer: (message: JSONRPCMessage) => void = () => {};
  const answered = new Promise<JSONRPCMessage>((resolve) => { answer = resolve; });
  // Aborted once the check gives up, so a black hole's connection does not keep doctor waiting.
  const giveUp = new AbortController();
  const bounded: FetchLike = (url, init = {}) => fetch(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, giveUp.signal]) : giveUp.signal });
  const link = new RemoteLink(spec, { message: (m) => { if ('id' in m && m.id === 1) answer(m); }, warning: () => {} }, staticHeaders({ ...spec.headers, ...signIn?.headers }), bounded);
  const initialize: JSONRPCMessage = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpd-doctor', version: mcpdVersion() } } };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), REMOTE_TIMEOUT_MS); });
  try {
    const reply = await Promise.race([link.send(initialize).then(() => answered), late]);
    if (reply === 'late') {
      giveUp.abort();
      return { subject, status: 'fail', message: `${spec.url} did not answer initialize within ${REMOTE_TIMEOUT_MS / 1000} s`, fix: `check that the server is up and that mcpServers.${spec.name}.url is right (and your network or proxy lets it through)` };
    }
    if ('error' in reply) {
      return { subject, status: 'fail', message: `${spec.url} refused initialize: ${String(reply.error.message).slice(0, 200)}`, fix: `mcpd logs ${spec.name} may say more; check the server's status page` };
    }
    const info = ('result' in reply ? (reply.result as { serverInfo?: { name?: unknown; version?: unknown } }).serverInfo : undefined) ?? {};
    const who = typeof info.name === 'string' ? `${info.name}${typeof info.version === 'string' ? ` ${info.version}` : ''}` : 'it';
    const over = link.transport === 'sse' ? 'the legacy SSE transport' : 'Streamable HTTP';
    const auth = signIn ? { text: describeSignIn(signIn), literal: [] } : authState(spec.name, server, spec);
    const message = `${spec.url} answers as MCP (${who}, over ${over}); auth: ${auth.text}`;
    if (auth.literal.length === 0) return { subject, status: 'ok', message };
    const header = auth.literal[0]!;
    return {
      subject, status: 'warn', message: `${message}; ${auth.literal.join(', ')} hold(s) a credential written in mcpd's config file`,
      fix: `mcpd secret set ${spec.name}/${header.toLowerCase()} (the token alone), then write "${header}": "\${secret:${spec.name}/${header.toLowerCase()}}" (after "Bearer " if it has one)`,
    };
  } catch (error) {
    const e = asMcpdError(error, `asking ${spec.name}`);
    if (signIn && e.code === 'REMOTE_UNAUTHORIZED') {
      return { subject, status: 'fail', message: `${spec.url} wants mcpd to sign in (auth: ${describeSignIn(signIn)})`, fix: `mcpd auth login ${spec.name}` };
    }
    return { subject, status: 'fail', message: `${e.code}: ${e.message}`, ...(e.hint ? { fix: e.hint } : {}) };
  } finally {
    clearTimeout(timer);
    // Tells the server the session is over (DELETE); bounded by the same timeout.
    await link.close();
  }
}
