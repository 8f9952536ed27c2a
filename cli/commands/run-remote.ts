/**
 * `mcpd run --no-daemon NAME` for a url server: our stdin and stdout speak newline-delimited
 * JSON-RPC, bridged in this process to the remote server through the SDK's client transports
 * (daemon/remote/remote-link.ts). Nothing is spawned. When the first message cannot be
 * delivered (unreachable, TLS, not MCP, 401), the request is answered with the error and the
 * run ends with its McpdError and exit code. EOF on stdin ends the remote session (DELETE)
 * once the requests sent have their answers. A server that ends its session gets a new one
 * (daemon/remote/kept-session.ts), to which the client's handshake, recorded here as the
 * daemon's session records it, is replayed; the answers to the replay are kept from the client.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { systemClock } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { LoadedConfig } from '../../daemon/config/load.js';
import type { RemoteServerConfig } from '../../daemon/config/schema.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../daemon/protocol.js';
import { prepareRemote, signsIn } from '../../daemon/remote/prepare-remote.js';
import type { ServerAuth } from '../../daemon/remote/oauth/server-auth.js';
import { SignIns } from '../../daemon/remote/oauth/sign-ins.js';
import { staticHeaders, withSignIn } from '../../daemon/remote/token-source.js';
import { KeptSession } from '../../daemon/remote/kept-session.js';
import { reopenNote } from '../../daemon/remote/session-loss.js';
import { showSignIn } from './session-notices.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { resolveEnv } from '../../providers/resolver.js';
import { errorResponse, readClientMessage } from '../../daemon/session/client-message.js';
import { idKey } from '../../daemon/session/envelope.js';
import { LineSplitter, LineTooLong } from '../../daemon/session/framing.js';
import { Handshake } from '../../daemon/session/handshake.js';
import { noter, openRegistry } from '../context.js';
import type { RunOptions } from './run-target.js';

const DRAIN_ON_EOF_MS = 30_000;
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

/** Bridges stdio to `name` until stdin ends or a signal; resolves to the exit code, rejects with the connection's McpdError. */
export async function runRemote(name: string, server: RemoteServerConfig, loaded: LoadedConfig, options: RunOptions): Promise<number> {
  const registry = openRegistry(loaded, options);
  let spec;
  try {
    spec = await prepareRemote(name, server, `mcpServers.${name}`, registry, noter(options));
  } catch (error) {
    await registry.close();
    throw error;
  }
  // Without a sign-in, header values are in hand and no backend is needed while the session runs.
  const signIn = signsIn(spec) ? localSignIn(name, server, registry, options.browser) : undefined;
  if (!signIn) await registry.close();
  const pending = new Set<string>();
  let idle: (() => void) | undefined;
  let drain: NodeJS.Timeout | undefined;
  /** A request answered (by the server, or with an error): once none is pending after EOF, the run ends. */
  const answered = (key: string) => {
    if (pending.delete(key) && pending.size === 0) idle?.();
  };
  const out = (line: string) => process.stdout.write(`${line}\n`);
  let fatal: (error: McpdError) => void = () => {};
  const failed = new Promise<never>((_, reject) => { fatal = reject; });
  const handshake = new Handshake();
  const link: KeptSession = new KeptSession(spec, systemClock, {
    message: (message) => {
      const answer = 'id' in message && !('method' in message) ? message.id : undefined;
      // The answer to a replayed request: the client had its own.
      if (answer !== undefined && handshake.answered(idKey(answer))) return;
      out(JSON.stringify(message));
      if (answer !== undefined) answered(idKey(answer));
    },
    warning: (error) => process.stderr.write(`mcpd: ${error.message}\n`),
    lost: () => {},
    reopened: () => {
      process.stderr.write(`mcpd: ${reopenNote(spec)}\n`);
      for (const line of handshake.replay().lines) send(JSON.parse(line.toString()) as JSONRPCMessage, false);
    },
  }, signIn ? withSignIn(spec.headers, signIn) : staticHeaders(spec.headers));
  /** Sends a message of the client's (or, `client` false, of its replayed handshake, which nobody waits on). */
  const send = (message: JSONRPCMessage, client = true) => {
    const request = client && 'method' in message && 'id' in message;
    if (request) pending.add(idKey(message.id));
    link.send(message).catch((error: unknown) => {
      const problem = error instanceof McpdError ? error : new McpdError('REMOTE_FAILED', String(error));
      if (request) out(errorResponse(message.id, -32000, problem.format()));
      // Before the answer counts: the run must end with this error, not as a drained EOF.
      if (link.ends(problem)) fatal(problem);
      else if (client) process.stderr.write(`mcpd: ${problem.message}\n`);
      if (request) answered(idKey(message.id));
    });
  };
  const splitter = new LineSplitter({ maxBytes: DEFAULT_MAX_MESSAGE_BYTES }, {
    line: (line) => {
      const read = readClientMessage(line);
      if (typeof read === 'string') return out(read);
      handshake.record(read.envelope, read.line);
      send(read.message as JSONRPCMessage);
    },
  });
  const ended = new Promise<number>((resolve) => {
    for (const signal of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.on(signal, () => resolve(128 + SIGNALS[signal]));
    process.stdin.on('data', (chunk: Buffer) => {
      try {
        splitter.push(chunk);
      } catch (error) {
        if (!(error instanceof LineTooLong)) throw error;
        process.stderr.write(`mcpd: a message on stdin is longer than ${error.maxBytes} bytes; closing the session\n`);
        resolve(1);
      }
    });
    process.stdin.once('end', () => {
      if (pending.size === 0) return resolve(0);
      drain = setTimeout(() => resolve(0), DRAIN_ON_EOF_MS);
      idle = () => resolve(0);
    });
  });
  try {
    return await Promise.race([ended, failed]);
  } finally {
    clearTimeout(drain);
    process.stdin.destroy();
    await link.close();
    if (signIn) {
      signIn.abandon('mcpd run ended');
      await registry.close();
    }
  }
}

/**
 * The server's sign-in in this process: without a daemon there is nobody to share it with, so
 * two `--no-daemon` runs of one server renew its token each on its own (README "Remote servers").
 */
function localSignIn(name: string, server: RemoteServerConfig, registry: ProviderRegistry, browser: boolean | undefined): ServerAuth {
  const signIns = new SignIns({
    store: () => registry.get('secret'),
    clock: systemClock,
    env: process.env,
    log: () => {},
    resolve: async (_name, values) => (await resolveEnv({ env: values }, registry, (key) => `mcpServers.${name}.oauth.${key}`)).env,
  });
  const auth = signIns.of(name, server);
  const opened = new Set<string>();
  auth.attach({
    login: false,
    open: (notice) => (showSignIn(notice.url, notice.reason, { name, browser: browser !== false, env: process.env, stderr: process.stderr }, opened), true),
    say: (line) => process.stderr.write(`${line}\n`),
  });
  return auth;
}
