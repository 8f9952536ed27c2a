/**
 * Whether a literal of a host app's server environment is a secret `mcpd migrate` must move
 * into the store, and why (or why not): by the value's shape — a well-known key prefix, a URL
 * with a password in it, a JWT, a webhook URL whose path or query is its credential — or by
 * the variable's name. Judged on the whole value: a value that holds a secret moves whole (a
 * DSN with its host and database), which is simpler than splitting it and leaks nothing.
 */

export type Verdict = { readonly secret: boolean; readonly why: string };

/** Prefixes of well-known API keys and tokens (GitHub, GitLab, OpenAI and Anthropic, Stripe, Slack, AWS, Google, Vault, Linear, Notion). */
export const SECRET_SHAPES = /^(gh[pousr]_|github_pat_|glpat-|sk-|sk_(live|test)_|rk_(live|test)_|xox[abposr]-|AKIA[0-9A-Z]{16}$|AIza[0-9A-Za-z_-]{35}$|hvs\.|lin_api_|ntn_|secret_)/;

/** Words of a variable's name that say it holds a credential. */
const SECRET_WORDS = new Set(['token', 'key', 'apikey', 'secret', 'password', 'passwd', 'pass', 'pat', 'credential', 'credentials', 'creds', 'auth', 'bearer', 'dsn', 'cookie', 'cookies', 'session', 'private', 'privatekey', 'jwt', 'signature', 'webhook']);
/** A name ending in one of these is a setting about the credential, not the credential (`SESSION_TIMEOUT`, `KEY_FILE`). */
const SETTING_WORDS = new Set(['file', 'path', 'dir', 'timeout', 'ttl', 'expiry', 'expires', 'lifetime', 'max', 'min', 'count', 'size', 'length', 'limit', 'enabled', 'disabled', 'enable', 'disable', 'mode', 'type', 'name', 'level', 'interval', 'url', 'store', 'backend', 'driver', 'method', 'scheme', 'format', 'strategy', 'domain', 'host', 'port', 'region', 'scope', 'scopes', 'algorithm', 'alg', 'version']);
/** Query parameters that carry a credential. */
const SECRET_PARAMS = /^(.*[_-])?(token|key|apikey|api_key|sig|signature|secret|password|auth|access_token|code)$/i;
/** A switch, a small number or a duration: never a secret, whatever the name says (a long number may be a PIN or a key). */
const PLAIN = /^(true|false|yes|no|on|off|none|null|\d{1,5}(\.\d+)?\s*(ms|s|m|h|d|w|k|kb|mb|gb)?)$/i;
const WEBHOOK_HOSTS = /(^|\.)(hooks\.slack\.com|discord(app)?\.com|webhook\.office\.com|outlook\.office\.com|hooks\.zapier\.com)$/i;

/** The verdict on one variable of a server's environment; `why` is printed, so it never holds the value. */
export function judge(variable: string, value: string): Verdict {
  if (value === '') return { secret: false, why: 'empty' };
  if (SECRET_SHAPES.test(value)) return { secret: true, why: 'the shape of a known API key or token' };
  const url = credentialInUrl(value);
  if (url) return { secret: true, why: url };
  if (hasJwt(value)) return { secret: true, why: 'a JSON Web Token' };
  if (/(^|[\s;])(password|pwd)\s*=\s*[^;\s]/i.test(value)) return { secret: true, why: 'a connection string with a password in it' };
  const words = variable.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  // PWD alone is the shell's working directory; DB_PWD is a password.
  const named = words.some((w) => SECRET_WORDS.has(w) || (w === 'pwd' && words.length > 1)) || /database_?url/.test(words.join('_'));
  if (named && PLAIN.test(value)) return { secret: false, why: 'a switch, a number or a duration, not a secret' };
  if (named && SETTING_WORDS.has(words.at(-1)!) && !/database_?url$/.test(words.join('_'))) {
    return { secret: false, why: `its name ends in ${words.at(-1)!.toUpperCase()}: a setting, not a secret` };
  }
  if (named) return { secret: true, why: 'its name says it holds a credential' };
  return { secret: false, why: 'looks like a setting, not a secret' };
}

/** Why a URL in `value` is a credential (a password in it, a webhook, a token in its path or query), if one is. */
function credentialInUrl(value: string): string | undefined {
  // A scheme, then user:password@ — checked on the text too: `new URL` refuses some DSNs (several hosts).
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]*:[^/?#@\s]*[^/?#@\s:]@/i.test(value)) {
    return 'a URL with a password in it';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.password) return 'a URL with a password in it';
  if (!/^(https?|wss?):$/.test(url.protocol)) return undefined;
  if (WEBHOOK_HOSTS.test(url.hostname) && /\/(services|api\/webhooks|webhookb2|hooks)\//i.test(url.pathname)) return 'a webhook URL';
  for (const [name, param] of url.searchParams) {
    if (SECRET_PARAMS.test(name) && param.length > 0) return `a URL with a credential in its query (${name}=)`;
  }
  if (url.pathname.split('/').some(tokenLike)) return 'a URL with a token in its path';
  return undefined;
}

/** A long run of letters and digits, both, such as a webhook's key; words joined by - or _ are not. */
function tokenLike(segment: string): boolean {
  if (segment.length < 20 || !/^[A-Za-z0-9_-]+$/.test(segment)) return false;
  if (!/[0-9]/.test(segment) || !/[A-Za-z]/.test(segment)) return false;
  // `my-long-project-name-2024` is words; a key is one long run or random pieces.
  return segment.split(/[-_]/).some((piece) => piece.length >= 16 && /[0-9]/.test(piece) && /[A-Za-z]/.test(piece));
}

/** Whether a word of `value` is a JWT: three base64url segments, the first a JSON header naming its `alg`. */
function hasJwt(value: string): boolean {
  return value.split(/[\s"',;=]+/).some((word) => {
    const parts = word.split('.');
    if (parts.length !== 3 || !parts.slice(0, 2).every((p) => /^[A-Za-z0-9_-]{4,}$/.test(p)) || !/^[A-Za-z0-9_-]*$/.test(parts[2]!)) return false;
    try {
      const header: unknown = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
    } catch {
      return false;
    }
  });
}
