/**
 * `mcpd run NAME` and `mcpd run --no-daemon NAME` read without commander, which costs ~12 ms
 * of start-up that a host app would pay on every session. Only the plain forms are read here:
 * anything else (-e, --, --help, an unknown flag, a missing value, a second name) returns
 * undefined and goes to commander (cli/main.ts), which gives the usage errors and the help.
 * Global options may stand before or after `run`, as commander allows.
 */
import type { RunOptions } from './commands/run-target.js';

const VALUED = { '-c': 'config', '--config': 'config', '-s': 'socket', '--socket': 'socket' } as const;

/** The options commander would give `mcpd run` for `argv` (without node and the script), or undefined. */
export function fastRun(argv: readonly string[]): RunOptions | undefined {
  const run: RunOptions = { target: [], env: [], daemon: true, autostart: true, browser: true, adhoc: false };
  let verb = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (flag in VALUED) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '' || value.startsWith('-')) return undefined;
      run[VALUED[flag as keyof typeof VALUED]] = value;
    } else if (eq !== -1) {
      return undefined;
    } else if (arg === '-v' || arg === '--verbose') {
      run.verbose = true;
    } else if (verb && arg === '--no-daemon') {
      run.daemon = false;
    } else if (verb && arg === '--no-autostart') {
      run.autostart = false;
    } else if (verb && arg === '--no-browser') {
      run.browser = false;
    } else if (arg.startsWith('-')) {
      return undefined;
    } else if (!verb) {
      if (arg !== 'run') return undefined;
      verb = true;
    } else {
      run.target.push(arg);
    }
  }
  return verb && run.target.length === 1 ? run : undefined;
}
