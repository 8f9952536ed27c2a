/**
 * The binary messages of a session opened with `?stderr=1&notices=1`: each starts with a kind
 * byte, 0x00 for the server's masked stderr (the rest goes to our stderr as it came), 0x01 for
 * one JSON notice from the daemon. A server's stderr can never pass for a notice: whatever its
 * bytes, the daemon sends them after 0x00.
 *
 * Only a daemon whose 101 answer carries `mcpd-notices: 1` sends kind bytes; with a daemon
 * from before notices (still running after an upgrade), run-session.ts prints every binary
 * message as raw stderr and never comes here, so its servers' stderr cannot pose as a notice.
 * A message with another first byte is printed whole.
 *
 * The one notice today, `{"type":"authorize","server","url"}`: the server needs the user to sign
 * in, and the daemon, which may run under systemd with no display, asks this process (the one
 * the user or the host app started) to open the browser. Notices go to stderr only: stdout is
 * the host's MCP stream.
 */
import type { Env } from '../../core/paths.js';
import { browsableUrl, browserCommands, openBrowser } from '../browser.js';

export const KIND = { stderr: 0x00, notice: 0x01 } as const;

export interface NoticeOptions {
  /** The server of this session. */
  readonly name: string;
  /** false with --no-browser: the address is printed, never opened. */
  readonly browser: boolean;
  readonly env: Env;
  /** Where notices and stderr go (process.stderr). */
  readonly stderr: NodeJS.WritableStream;
}

/** The handler for a notices session's binary messages (each one whole). */
export function binaryMessages(options: NoticeOptions): (message: Buffer) => void {
  const opened = new Set<string>();
  return (message) => {
    if (message.length === 0) return;
    if (message[0] === KIND.stderr) {
      options.stderr.write(message.subarray(1));
    } else if (message[0] === KIND.notice) {
      const notice = parseNotice(message.subarray(1));
      if (notice?.type === 'authorize' && typeof notice.url === 'string') showSignIn(notice.url, typeof notice.reason === 'string' ? notice.reason : undefined, options, opened);
    } else {
      options.stderr.write(message);
    }
  };
}

function parseNotice(bytes: Buffer): { type?: unknown; url?: unknown; reason?: unknown } | undefined {
  try {
    const notice: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof notice === 'object' && notice !== null ? notice : undefined;
  } catch {
    return undefined;
  }
}

/** Tells the user the server needs them to sign in (and why, when it is again), and opens the browser unless told not to (or there is none); `opened` keeps it to once per URL. */
export function showSignIn(url: string, reason: string | undefined, options: NoticeOptions, opened: Set<string>): void {
  if (reason) say(options, `server "${options.name}": ${reason.slice(0, 200)}; signing in again`);
  authorize(url, options, opened).catch((error: unknown) => say(options, `could not open a browser: ${error instanceof Error ? error.message : String(error)}`));
}

async function authorize(url: string, options: NoticeOptions, opened: Set<string>): Promise<void> {
  const { name } = options;
  const href = browsableUrl(url);
  if (href === undefined) {
    // JSON-quoted: the address is the authorization server's text, and may hold terminal escapes.
    return say(options, `server "${name}" sent a sign-in address that is not an http(s) URL, so it was not opened: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (opened.has(href)) return;
  opened.add(href);
  const manual = `server "${name}" needs you to sign in: open ${href}, or run mcpd auth login ${name}`;
  if (!options.browser || browserCommands(href, options.env, process.platform).length === 0) return say(options, manual);
  say(options, `server "${name}" needs you to sign in; opening your browser (if it does not open, visit: ${href})`);
  if (!(await openBrowser(href, options.env))) say(options, manual);
}

function say(options: NoticeOptions, line: string): void {
  options.stderr.write(`mcpd: ${line}\n`);
}
