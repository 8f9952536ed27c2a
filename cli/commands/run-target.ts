/**
 * What `mcpd run` was asked to run, checked before anything heavy is loaded: one server name
 * (through the daemon or in-process), or an ad-hoc command after `--`.
 */
import { McpdError } from '../../core/errors.js';
import type { DaemonOptions } from '../context.js';

export interface RunOptions extends DaemonOptions {
  target: string[];
  env: string[];
  daemon: boolean;
  /** The command line had `--`: target is an ad-hoc command, not a server name. */
  adhoc: boolean;
  /** false with --no-browser: a server's sign-in address is printed, not opened. */
  browser?: boolean;
}

/** Whether this run goes through the daemon. */
export const viaDaemon = (options: RunOptions) => options.daemon && !options.adhoc;

export function serverName(options: RunOptions): string {
  const [name, ...rest] = options.target;
  if (!name || rest.length > 0) {
    throw new McpdError('USAGE', name ? `mcpd run takes one server name, got ${options.target.length} words` : 'mcpd run: which server?', {
      hint: 'mcpd run NAME (a key of "mcpServers"), or mcpd run -e KEY=${ref} -- COMMAND ARGS… for a command not in the config',
    });
  }
  if (options.env.length > 0 && options.daemon) {
    throw new McpdError('USAGE', 'mcpd run NAME -e … works only with --no-daemon: the daemon launches servers as the config defines them', {
      hint: 'put the variable in the server\'s "env" in the config, or add --no-daemon',
    });
  }
  return name;
}
