/**
 * The reference syntax (README "References"): a value holds any number of `${…}` references, everything
 * else is literal, `$$` is a literal `$`, and a whole value `op://…` is a 1Password reference.
 *
 *   ${NAME}  ${NAME:-default}  ${env:NAME}       the caller's environment
 *   ${provider:path}                             a built-in or configured provider
 *   ${op://vault/item/field}                     1Password, kept whole
 *
 * A `$` not followed by `{` or `$` is literal, as in `op run`. The first `}` closes a reference.
 */
import { McpdError } from '../core/errors.js';
import type { Ref } from './provider.js';

export type Segment = { readonly literal: string } | { readonly ref: Ref };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROVIDER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SYNTAX_HINT = 'write a reference as ${provider:path} or ${NAME}, and $$ for a literal $';

/**
 * Splits a value into literal text and references. `where` names the value in errors
 * (a JSON path such as `mcpServers.github.env.TOKEN`, or `-e TOKEN`).
 */
export function parseValue(text: string, where: string): Segment[] {
  if (/^op:\/\/\S/.test(text)) return [{ ref: parseRefBody(text, where) }];
  const segments: Segment[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1 || dollar === text.length - 1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      literal += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const close = text.indexOf('}', dollar + 2);
      if (close === -1) {
        throw malformed(where, `${excerpt(text.slice(dollar))} has no closing }`);
      }
      if (literal) segments.push({ literal });
      literal = '';
      segments.push({ ref: parseRefBody(text.slice(dollar + 2, close), where) });
      i = close + 1;
    } else {
      literal += '$';
      i = dollar + 1;
    }
  }
  if (literal) segments.push({ literal });
  return segments;
}

/** The references a value holds, in order. */
export function refsOf(text: string, where: string): Ref[] {
  return parseValue(text, where).flatMap((s) => ('ref' in s ? [s.ref] : []));
}

/**
 * Parses the text inside `${}`. Also what the CLI takes as REF (`mcpd secret get github/pat`),
 * where a bare path means `secret:PATH`; pass `bareIs: 'secret'` for that.
 */
export function parseRefBody(body: string, where: string, bareIs: 'env' | 'secret' = 'env'): Ref {
  if (body === '') throw malformed(where, '${} is empty');
  if (body.startsWith('op://')) {
    if (body.length <= 'op://'.length) throw malformed(where, `\${${body}} has no vault/item/field`);
    return { raw: body, provider: 'op', path: body };
  }
  const colon = body.indexOf(':');
  if (colon === -1) {
    if (bareIs === 'secret') return { raw: `secret:${body}`, provider: 'secret', path: body };
    if (!ENV_NAME.test(body)) {
      throw malformed(where, `\${${excerpt(body)}} is not a variable name (letters, digits, _) and has no provider: prefix`);
    }
    return { raw: body, provider: 'env', path: body };
  }
  const head = body.slice(0, colon);
  const rest = body.slice(colon + 1);
  if (rest.startsWith('-') && ENV_NAME.test(head)) {
    return { raw: body, provider: 'env', path: head, fallback: rest.slice(1) };
  }
  if (!PROVIDER_NAME.test(head)) {
    throw malformed(where, `\${${excerpt(body)}} does not start with a provider name`);
  }
  if (rest === '') throw malformed(where, `\${${head}:} has no path after the provider name`);
  if (head === 'env' && !ENV_NAME.test(rest)) {
    throw malformed(where, `\${env:${excerpt(rest)}} is not a variable name (letters, digits, _)`);
  }
  return { raw: body, provider: head, path: rest };
}

/**
 * An exec provider appends the path to its command as one argument: one that begins with `-`
 * (`${p-x:--version}`, a mistyped `${NAME:-default}`) would reach it as an option. `where`
 * names the value, as in parseValue (left out where the caller adds it).
 */
export function optionLikePath(ref: Ref, where?: string): McpdError | undefined {
  if (!ref.path.startsWith('-') || ref.provider === 'env') return undefined;
  return new McpdError('REF_MALFORMED', `${where === undefined ? '' : `malformed reference in ${where}: `}\${${excerpt(ref.raw)}} has a path beginning with "-", which the command of provider "${ref.provider}" would take as an option, not a secret's name`, {
    hint: 'name the secret without a leading "-"; for an environment variable with a default, write ${NAME:-default} where NAME is letters, digits and _ only',
  });
}

/** Joins resolved segments back into a value. `lookup` returns the value of each reference. */
export function render(segments: readonly Segment[], lookup: (ref: Ref) => string): string {
  return segments.map((s) => ('ref' in s ? lookup(s.ref) : s.literal)).join('');
}

function malformed(where: string, what: string): McpdError {
  return new McpdError('REF_MALFORMED', `malformed reference in ${where}: ${what}`, { hint: SYNTAX_HINT });
}

// A malformed reference may sit in a value that also holds a pasted token; quote only a little.
function excerpt(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
