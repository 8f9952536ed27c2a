#!/usr/bin/env node
/**
 * The `mcpd` command. This file only declares verbs; each verb's module is imported when it
 * runs, so `mcpd run` — which a host app starts for every session — loads only what it needs.
 * The installed command (cli/bin.ts) reads the plain `mcpd run NAME` itself and comes here
 * for everything else.
 */
import { Argument, Command, CommanderError } from 'commander';
import { EXIT } from '../core/exit-codes.js';
import type { GlobalOptions } from './context.js';
import { report } from './report.js';
import { mcpdVersion } from './version.js';

const program = new Command('mcpd')
  .description('Launch MCP servers with their credentials resolved from your secret stores.')
  .version(mcpdVersion(), '-V, --version')
  .option('-c, --config <path>', 'config file (default: $MCPD_CONFIG, else ~/.config/mcpd/config.json)')
  .option('-v, --verbose', 'say which stores answered and which variables were left out (never values)')
  .option('-s, --socket <path>', 'the daemon\'s socket (default: $MCPD_SOCKET, else $XDG_RUNTIME_DIR/mcpd/mcpd.sock, else ~/.local/state/mcpd/mcpd.sock)')
  .showHelpAfterError('(run `mcpd help` for usage)')
  .exitOverride();

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

const collect = (value: string, previous: string[]) => [...previous, value];

program
  .command('run')
  .description('run an MCP server from the config with its secrets injected, speaking MCP on stdin/stdout')
  .usage('[options] NAME | [options] -e KEY=${ref} -- COMMAND [ARGS...]')
  .argument('[target...]', 'a server name from the config, or after -- an ad-hoc command')
  .option('-e, --env <KEY=VALUE>', 'set a variable for the server; the value may hold references (repeatable)', collect, [])
  .option('--no-daemon', 'resolve and spawn in this process, with the server\'s stdio wired straight through')
  .option('--no-autostart', 'do not start a daemon when none answers (exit 4 instead)')
  .option('--no-browser', 'when a remote server needs you to sign in, print the address instead of opening the browser')
  .action(async (target: string[], options: { env: string[]; daemon: boolean; autostart: boolean; browser: boolean }, command: Command) => {
    const adhoc = process.argv.includes('--');
    const run = { ...globals(command), ...options, target, adhoc };
    const { serverName, viaDaemon } = await import('./commands/run-target.js');
    // Through the daemon, `mcpd run` needs neither the config nor the providers: it loads only the socket client.
    if (viaDaemon(run)) process.exit(await (await import('./commands/run-session.js')).runSession(serverName(run), run));
    return (await import('./commands/run.js')).run(run);
  });

const secret = program.command('secret').description('store, read and remove secrets (REF: local:PATH, keychain:SERVICE/ACCOUNT, secret:PATH, or PATH for secret:PATH)');
secret
  .command('set')
  .description('store a secret read from stdin (or a hidden prompt on a terminal); never from the command line')
  .argument('<ref>')
  .argument('[extra...]')
  .action(async (ref: string, extra: string[], _options: unknown, command: Command) => (await import('./commands/secret.js')).set(ref, extra, globals(command)));
secret
  .command('get')
  .description('show whether a secret is set; its value only with --reveal')
  .argument('<ref>')
  .option('--reveal', 'print the value itself')
  .option('-n, --no-newline', 'with --reveal: no newline after the value')
  .option('--json', 'output JSON')
  .action(async (ref: string, options: { reveal?: boolean; newline: boolean }, command: Command) => (await import('./commands/secret.js')).get(ref, { ...globals(command), ...options }));
secret
  .command('rm')
  .description('remove a secret (all its versions)')
  .argument('<ref>')
  .action(async (ref: string, _options: unknown, command: Command) => (await import('./commands/secret.js')).remove(ref, globals(command)));
secret
  .command('ls')
  .description('list stored secrets by name (never values)')
  .argument('[prefix]', 'PROVIDER:PREFIX or PREFIX (in the default store)')
  .option('--json', 'output JSON')
  .action(async (prefix: string | undefined, _options: unknown, command: Command) => (await import('./commands/secret.js')).list(prefix, globals(command)));

program
  .command('secrets')
  .description('check the references the config uses')
  .command('check')
  .description('resolve every reference of the config and report each as ok or not (never a value); exit 3 if any fails')
  .option('--daemon', 'ask the running daemon, which resolves in its own environment and cache')
  .option('--json', 'output JSON')
  .action(async (options: { daemon?: boolean }, command: Command) => (await import('./commands/secrets.js')).check({ ...globals(command), ...options }));

program
  .command('migrate')
  .description('move a host app\'s MCP servers into mcpd: each literal secret into the default store, each host entry to "mcpd run NAME"')
  .option('--from <host>', 'claude-desktop, claude-code, cursor, vscode or windsurf (default: each whose config file exists)')
  .option('--file <path>', 'a config file of the same shape instead (a project\'s .mcp.json, .cursor/mcp.json, .vscode/mcp.json)')
  .option('--dry-run', 'say what would change, and write nothing')
  .option('--undo', 'put the host app\'s file back as it was before mcpd migrate changed it')
  .option('--json', 'output JSON')
  .action(async (options: { from?: string; file?: string; dryRun?: boolean; undo?: boolean }, command: Command) => (await import('./commands/migrate.js')).migrate({ ...globals(command), ...options }));

program
  .command('doctor')
  .description('check the config, every reference, the keychain, the daemon, rotation and the service units; each problem with its fix (never a value)')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await import('./commands/doctor.js')).doctor(globals(command)));

const config = program.command('config').description('inspect the config');
config
  .command('path')
  .description('print the config file mcpd reads')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await import('./commands/config.js')).path(globals(command)));
config
  .command('check')
  .description('validate the config: syntax, keys, references and providers (resolves nothing)')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await import('./commands/config.js')).check(globals(command)));
config
  .command('schema')
  .description('print the config\'s JSON Schema (save it beside the config and name it in "$schema" for an editor to complete and check the file)')
  .action(async () => (await import('./commands/config.js')).schema());

const daemonVerb = (name: string, description: string) => program.command(name).description(description);
const commands = () => import('./commands/daemon.js');
const statusCommands = () => import('./commands/status.js');

daemonVerb('daemon', 'run the daemon in the foreground (for systemd and launchd); logs JSON lines to stderr')
  .action(async (_options: unknown, command: Command) => (await commands()).daemon(globals(command)));
daemonVerb('start', 'start a background daemon unless one answers')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await commands()).start(globals(command)));
daemonVerb('stop', 'stop the daemon: every server gets MCP\'s shutdown; with NAME, only that server\'s sessions end')
  .argument('[name]', 'a server: end its open sessions and its warm pool, and leave the daemon running')
  .option('--json', 'output JSON')
  .action(async (name: string | undefined, _options: unknown, command: Command) => (name === undefined ? (await commands()).stop(globals(command)) : (await statusCommands()).stopServer(name, globals(command))));
daemonVerb('status', 'the daemon and each server: state, sessions, pids, uptime, restarts, last error, references (never values), warm pools')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await statusCommands()).status(globals(command)));
daemonVerb('ls', 'list the configured servers and their state')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await statusCommands()).list(globals(command)));
daemonVerb('sessions', 'list open sessions: id, server, state, pid, age, who opened it (subject[roles]), client')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await statusCommands()).sessions(globals(command)));
daemonVerb('restart', 'restart a server in every open session (clients keep their sessions)')
  .argument('<name>')
  .option('--roll', 'roll onto fresh values instead: a new process takes over once it is ready, and no request fails')
  .option('--json', 'output JSON')
  .action(async (name: string, options: { roll?: boolean }, command: Command) => (await statusCommands()).restart(name, globals(command), options.roll === true));
daemonVerb('reload', 're-read the config now (the daemon also watches it)')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await statusCommands()).reload(globals(command)));
daemonVerb('events', 'what the daemon does, as it happens: sessions, restarts, reloads, rotations, refusals (never values)')
  .option('--json', 'output JSON lines')
  .action(async (_options: unknown, command: Command) => (await statusCommands()).events(globals(command)));
daemonVerb('logs', 'a server\'s stderr (masked), from the daemon')
  .argument('<name>')
  .option('-f, --follow', 'keep printing new lines')
  .option('-n, --lines <count>', 'how many past lines', '100')
  .option('--json', 'output JSON lines')
  .action(async (name: string, options: { follow?: boolean; lines: string }, command: Command) => (await statusCommands()).logs(name, { ...globals(command), ...options }));

const rotationCommands = () => import('./commands/rotation.js');
daemonVerb('rotate', 'rotate a secret of the config\'s "rotation" block now (for "remind": record that you rotated it)')
  .argument('<name>', 'its key in "rotation", e.g. internal/api-key')
  .option('--now', 'rotate now, whatever its schedule says')
  .option('--json', 'output JSON')
  .action(async (name: string, options: { now?: boolean }, command: Command) => (await rotationCommands()).rotate(name, { ...globals(command), ...options }));
program
  .command('rotation')
  .description('scheduled rotation of stored secrets')
  .command('status')
  .description('each rotated secret: strategy, age, last and next rotation, state, overdue')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await rotationCommands()).status(globals(command)));
const token = program.command('token').description('client tokens for host apps: each gets exactly its scopes (launch:NAME, launch:*, status:read, logs:read, rotate, admin) and roles');
const tokenCommands = () => import('./commands/token.js');
token
  .command('create')
  .description('create a token and print it once; the daemon keeps only its SHA-256')
  .argument('<name>')
  .option('--scope <scope>', 'a scope the token gets (repeatable)', collect, [])
  .option('--role <role>', 'a role of the config\'s "roles" the token gets (repeatable)', collect, [])
  .option('--expires <duration>', 'when it stops working, e.g. 30d (default: never)')
  .option('--json', 'output JSON')
  .action(async (name: string, options: { scope: string[]; role: string[]; expires?: string }, command: Command) => (await tokenCommands()).create(name, { ...globals(command), ...options }));
token
  .command('ls')
  .description('list tokens: names, scopes, roles, created, expires, last used (never tokens)')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await tokenCommands()).list(globals(command)));
token
  .command('revoke')
  .description('revoke a token; its open sessions are closed')
  .argument('<name>')
  .option('--json', 'output JSON')
  .action(async (name: string, _options: unknown, command: Command) => (await tokenCommands()).revoke(name, globals(command)));

const auth = program.command('auth').description('sign in to url servers: OAuth in your browser, or a token for a server without OAuth; the daemon keeps the tokens in the default store');
const authCommands = () => import('./commands/auth.js');
auth
  .command('login')
  .description('sign in to a url server: opens your browser at its sign-in page, or asks for a token when the server offers no OAuth')
  .argument('<name>')
  .option('--no-browser', 'print the sign-in address instead of opening it, then read from stdin the address your browser was sent to after signing in')
  .action(async (name: string, options: { browser: boolean }, command: Command) => (await authCommands()).login(name, { ...globals(command), ...options }));
auth
  .command('status')
  .description('each url server: how it signs in, state, scopes, expiry, last refresh (never a token)')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await authCommands()).status(globals(command)));
auth
  .command('logout')
  .description('sign out of a url server: its tokens are revoked where the server offers it, then forgotten')
  .argument('<name>')
  .option('--json', 'output JSON')
  .action(async (name: string, _options: unknown, command: Command) => (await authCommands()).logout(name, globals(command)));
const consentCommands = () => import('./commands/consent.js');
auth
  .command('pending')
  .description('authorization requests to mcpd\'s own authorization server (an "oauth" listener) waiting for your consent')
  .option('--json', 'output JSON')
  .action(async (_options: unknown, command: Command) => (await consentCommands()).pending(globals(command)));
auth
  .command('approve')
  .description('approve a waiting authorization request: its client gets a token for the endpoint it asked for')
  .argument('<id>')
  .option('--json', 'output JSON')
  .action(async (id: string, _options: unknown, command: Command) => (await consentCommands()).decide(id, true, globals(command)));
auth
  .command('deny')
  .description('deny a waiting authorization request: its client is sent access_denied')
  .argument('<id>')
  .option('--json', 'output JSON')
  .action(async (id: string, _options: unknown, command: Command) => (await consentCommands()).decide(id, false, globals(command)));

program
  .command('audit')
  .description('the audit log: sessions, tool calls, denied calls, references resolved, token use, limit refusals (never values or arguments)')
  .option('-f, --follow', 'keep printing new events')
  .option('--since <when>', 'only events since a duration ago (1h, 7d) or an ISO time')
  .option('--server <name>', 'only events of this server')
  .option('--subject <subject>', 'only events about this subject, exactly as lines name it: owner, token:NAME, user:NAME, jwt:SUB@HOST, anonymous, mcpd, unauthenticated')
  .option('--json', 'output JSON lines')
  .action(async (options: { follow?: boolean; since?: string; server?: string; subject?: string }, command: Command) => (await import('./commands/audit.js')).audit({ ...globals(command), ...options }));

const service = program.command('service').description('run the daemon as a user service: systemd units on Linux, a launchd agent on macOS');
service
  .command('install')
  .description('write the unit files for this installation (runs no systemctl; prints the next step)')
  .option('--dry-run', 'print the files and their contents; write nothing')
  .option('--json', 'output JSON')
  .action(async (options: { dryRun?: boolean }, command: Command) => (await import('./commands/service.js')).install({ ...globals(command), ...options }));

program
  .command('completion')
  .description('print a completion script for bash, zsh or fish: verbs, flags, server names and secret paths (never values)')
  .addArgument(new Argument('<shell>').choices(['bash', 'zsh', 'fish']))
  .addHelpText('after', '\nLoad it from ~/.bashrc or ~/.zshrc:  source <(mcpd completion bash)   (or zsh)\nfish:  mcpd completion fish > ~/.config/fish/completions/mcpd.fish')
  .action(async (shell: 'bash' | 'zsh' | 'fish', _options: unknown, command: Command) => (await import('./commands/completion.js')).completion(shell, command.parent!));
// What the completion scripts ask for: names from the config and the default store, never values.
program
  .command('__complete', { hidden: true })
  .argument('<kind>', 'servers, rotations or secrets')
  .action(async (kind: string, _options: unknown, command: Command) => (await import('./commands/completion.js')).complete(kind, globals(command)));


async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    // Commander already printed its message; help and version are not failures.
    if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    else process.exitCode = report(error);
  }
}

// Not a top-level await: the bundle (scripts/bundle.ts) is CommonJS, which has none.
void main();
