/**
 * Opening a sign-in page in the user's browser, from the process the user or the host app
 * started (the daemon may run under systemd, with no display of its own).
 *
 * Which command: `$BROWSER` when set, read as xdg-open and Python's webbrowser read it: a list
 * of commands separated by `:` (`;` on Windows), each split on spaces into a program and its
 * arguments; `%s` in an argument is replaced by the URL, else the URL is added as the last
 * argument; the first that works is used. Else `xdg-open` (Linux and the BSDs, only with a
 * display: $DISPLAY or $WAYLAND_DISPLAY), `open` (macOS), `rundll32 url.dll,FileProtocolHandler URL` (Windows).
 *
 * There is no shell: the URL is one argument, whatever it holds. Only http(s) URLs are opened
 * (an authorization server's `file:` or `javascript:` URL is not for a browser to run), and the
 * URL is given as the WHATWG parser writes it back, so it cannot begin with `-`. The browser
 * gets none of our stdio (in `mcpd run`, stdout is the host's MCP stream), none of mcpd's own
 * credentials, and a process group of its own, so it outlives us and our Ctrl-C.
 */
import { withoutOwnCredentials } from '../core/own-credentials.js';
import type { Env } from '../core/paths.js';

export interface BrowserOptions {
  /** process.platform unless a test says otherwise. */
  readonly platform?: NodeJS.Platform;
  /**
   * How long a command may take to fail: one that exits non-zero (xdg-open with no browser,
   * a $BROWSER entry that is not installed) within it did not open anything, and the next is
   * tried; one still running then (a browser that stays in the foreground) has.
   */
  readonly settleMs?: number;
}

/** Opens `url` in the user's browser; false when there is none to open it (SSH, headless), and the caller prints the URL. */
export async function openBrowser(url: string, env: Env = process.env, options: BrowserOptions = {}): Promise<boolean> {
  const href = browsableUrl(url);
  if (href === undefined) return false;
  for (const [file, ...args] of browserCommands(href, env, options.platform ?? process.platform)) {
    if (await launch(file!, args, env, options.settleMs ?? 1500)) return true;
  }
  return false;
}

/** `url` as the WHATWG parser writes it, when it is http(s); undefined for anything else. */
export function browsableUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** The command lines to try, in order, for `href` (already checked by browsableUrl). */
export function browserCommands(href: string, env: Env, platform: NodeJS.Platform): string[][] {
  const browser = env.BROWSER?.trim();
  if (browser) {
    const listSeparator = platform === 'win32' ? ';' : ':';
    return browser.split(listSeparator).map((entry) => entry.trim().split(/\s+/).filter(Boolean)).filter((words) => words.length > 0).map((words) => {
      const substituted = words.map((word) => word.replaceAll('%s', href));
      return words.some((word) => word.includes('%s')) ? substituted : [...words, href];
    });
  }
  if (platform === 'darwin') return [['open', href]];
  // Not `cmd /c start "" URL`: cmd parses its command line again (`&` ends the command, `%NAME%`
  // is expanded even in quotes), so the URL would not stay one argument. rundll32 takes it as is.
  if (platform === 'win32') return [['rundll32', 'url.dll,FileProtocolHandler', href]];
  // Over SSH or on a console there is no display for xdg-open to open a browser on.
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return [];
  return [['xdg-open', href]];
}

/** Starts one command detached; whether it is running, or exited 0, after `settleMs`. */
async function launch(file: string, args: string[], env: Env, settleMs: number): Promise<boolean> {
  // Loaded on first use: `mcpd run` loads it only when a server asks the user to sign in.
  const { execa } = await import('execa');
  const subprocess = execa(file, args, {
    env: withoutOwnCredentials(env),
    extendEnv: false,
    stdio: 'ignore',
    detached: true,
    cleanup: false,
    reject: false,
  });
  let timer: NodeJS.Timeout | undefined;
  const settled = new Promise<boolean>((resolve) => {
    subprocess.once('spawn', () => {
      timer = setTimeout(() => resolve(true), settleMs);
      timer.unref();
    });
  });
  const exited = subprocess.then((result) => !result.failed);
  const started = await Promise.race([settled, exited]);
  clearTimeout(timer);
  // It lives on after we exit; nothing of ours waits for it.
  subprocess.unref();
  return started;
}
