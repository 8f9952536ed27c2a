/**
 * mcpd's own credentials: the environment variables mcpd itself signs in with. They are mcpd's,
 * not its children's (README "Security model"): no server, not even one with
 * `"inheritEnv": true`, no exec helper and no rotation hook is given any of them. The daemon
 * reads them once, at start, and takes them out of its process environment, so that nothing it
 * spawns (nor a library spawning behind its back) can inherit them.
 */
import { McpdError } from './errors.js';
import type { Env } from './paths.js';

/**
 * Every variable whose value is a credential mcpd uses, with where it is read:
 * MCPD_STORE_PASSPHRASE (the local store's key, providers/local-store/store-key.ts), MCPD_TOKEN
 * (the CLI's and mcpd/client's client token, connect/daemon.ts), VAULT_TOKEN (the Vault
 * provider's default token, providers/vault/auth.ts), OP_SERVICE_ACCOUNT_TOKEN (the 1Password
 * provider's default token, providers/onepassword.ts). A credential read anywhere else belongs
 * here too: test/core/own-credentials.test.ts pins the list and looks for readers it misses.
 */
export const OWN_CREDENTIALS = ['MCPD_STORE_PASSPHRASE', 'MCPD_TOKEN', 'VAULT_TOKEN', 'OP_SERVICE_ACCOUNT_TOKEN'] as const;

const own: ReadonlySet<string> = new Set(OWN_CREDENTIALS);

/** Whether `name` is one of mcpd's own credential variables. */
export function isOwnCredential(name: string): boolean {
  return own.has(name);
}

/**
 * `env` less mcpd's own credentials: what a command of the user's (an exec helper such as
 * `pass`, a rotation hook) starts with. It keeps the rest, which those tools need (GNUPGHOME,
 * BW_SESSION, agent sockets).
 */
export function withoutOwnCredentials(env: Env): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !own.has(name)) kept[name] = value;
  }
  return kept;
}

/**
 * Moves mcpd's own credentials out of `env` (the daemon's process.env): returns a frozen copy of
 * `env` as it was, credentials included, for mcpd's own use (the providers read it), and deletes
 * them from `env` itself.
 */
export function takeOwnCredentials(env: NodeJS.ProcessEnv): Env {
  const taken = Object.freeze({ ...env });
  for (const name of OWN_CREDENTIALS) delete env[name];
  return taken;
}

/**
 * The error for a server configured to get one of mcpd's own credentials, through `inheritEnv`
 * or a `${NAME}` reference at `where` (a config path, or `-e NAME`). Refused rather than dropped:
 * a server started without a variable its config names would fail later, and less clearly.
 */
export function ownCredentialRefused(name: string, where: string, how: string, code: 'CONFIG_INVALID' | 'USAGE'): McpdError {
  return new McpdError(code, `${where}: ${how} would give the server $${name}, one of mcpd's own credentials, which no server, helper or hook is given`, {
    hint: `give the server a credential of its own: store it (mcpd secret set PATH) and set it in the server's "env" as \${secret:PATH}`,
  });
}
