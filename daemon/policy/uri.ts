/**
 * Resource URIs as the policy compares them. `file:///tmp/../etc/passwd`, `file:///%65tc/passwd`,
 * `FILE:///etc/passwd` and `file://localhost/etc/passwd` all name /etc/passwd, and a glob over
 * the raw text sees four other resources. The WHATWG URL parser (the one Node's fileURLToPath
 * and most servers use) lowercases the scheme and a special scheme's host, resolves dot segments
 * (`%2e` ones too) and drops a file URL's `localhost`; on top of it this decodes percent-encoded
 * unreserved characters (RFC 3986 §6.2.2.2), writes the other escapes in upper case and
 * lowercases any host. A file URL's path is decoded as fileURLToPath decodes it (every escape
 * but `/`, `\`, `%` and control characters; the setter re-encodes what a path must not hold)
 * and its repeated slashes folded (the kernel reads `//etc` as `/etc`).
 *
 * What servers read differently even then (an encoded `/` or `\` or NUL in the path: one server
 * decodes `..%2F` into a parent directory, another does not) cannot be judged: uriProblem says so.
 */

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** Enough rounds for a decoded escape to form a dot segment that the next parse resolves. */
const ROUNDS = 4;

/** The canonical form of a resource URI; text that is not a URL (a resource's name) comes back as it is. */
export function canonicalUri(text: string): string {
  let current = text;
  for (let round = 0; round < ROUNDS; round++) {
    const next = canonicalOnce(current);
    if (next === current) break;
    current = next;
  }
  return current;
}

/** A canonical URI without its query and fragment (what fileURLToPath opens); undefined when it has neither, or is not a URL. */
export function withoutQuery(canonical: string): string | undefined {
  let url: URL;
  try {
    url = new URL(canonical);
  } catch {
    return undefined;
  }
  url.search = '';
  url.hash = '';
  return url.href === canonical ? undefined : url.href;
}

/** Why a canonical URI cannot be judged, or undefined when it can. */
export function uriProblem(canonical: string): string | undefined {
  let url: URL;
  try {
    url = new URL(canonical);
  } catch {
    return undefined;
  }
  return /%(?:2F|5C|00)/.test(url.pathname) ? 'holds an encoded "/", "\\" or NUL in its path, which servers decode differently' : undefined;
}

function canonicalOnce(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (url.protocol === 'file:') url.pathname = decodeFilePath(url.pathname).replace(/\/{2,}/g, '/');
  if (url.hostname !== url.hostname.toLowerCase()) url.hostname = url.hostname.toLowerCase();
  return url.href.replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const escape = (byte: number) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
/** Bytes a decoded file path must keep escaped: '/', '\\', '%' (it would form new escapes) and control characters. */
const kept = (byte: number) => byte === 0x2f || byte === 0x5c || byte === 0x25 || byte < 0x20 || byte === 0x7f;

/** A file URL's path with its escapes decoded as UTF-8, except the bytes `kept` (and invalid UTF-8, left as it was). */
function decodeFilePath(path: string): string {
  return path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    let out = '';
    let pending: number[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      try {
        out += utf8.decode(Uint8Array.from(pending));
      } catch {
        out += pending.map(escape).join('');
      }
      pending = [];
    };
    for (const byte of Buffer.from(run.replaceAll('%', ''), 'hex')) {
      if (!kept(byte)) pending.push(byte);
      else {
        flush();
        out += escape(byte);
      }
    }
    flush();
    return out;
  });
}
