import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { McpdError } from '../../core/errors.js';
import { parseRefBody, parseValue, refsOf, render } from '../../providers/reference.js';

const refs = (text: string) => refsOf(text, 'test').map((r) => ({ ...r }));

function rejects(text: string, fragment: string): void {
  assert.throws(() => parseValue(text, 'mcpServers.x.env.T'), (e: unknown) => {
    assert.ok(e instanceof McpdError);
    assert.equal(e.code, 'REF_MALFORMED');
    assert.match(e.message, /^malformed reference in mcpServers\.x\.env\.T: /);
    assert.ok(e.message.includes(fragment), `"${e.message}" should include "${fragment}"`);
    assert.ok(e.hint?.includes('$$'));
    return true;
  });
}

describe('reference syntax', () => {
  it('reads every form of the table', () => {
    assert.deepEqual(refs('${GITHUB_TOKEN}'), [{ raw: 'GITHUB_TOKEN', provider: 'env', path: 'GITHUB_TOKEN' }]);
    assert.deepEqual(refs('${PORT:-8080}'), [{ raw: 'PORT:-8080', provider: 'env', path: 'PORT', fallback: '8080' }]);
    assert.deepEqual(refs('${PORT:-}'), [{ raw: 'PORT:-', provider: 'env', path: 'PORT', fallback: '' }]);
    assert.deepEqual(refs('${env:HOME}'), [{ raw: 'env:HOME', provider: 'env', path: 'HOME' }]);
    assert.deepEqual(refs('${secret:github/pat}'), [{ raw: 'secret:github/pat', provider: 'secret', path: 'github/pat' }]);
    assert.deepEqual(refs('${keychain:svc/acct}'), [{ raw: 'keychain:svc/acct', provider: 'keychain', path: 'svc/acct' }]);
    assert.deepEqual(refs('${local:a/b/c}'), [{ raw: 'local:a/b/c', provider: 'local', path: 'a/b/c' }]);
    assert.deepEqual(refs('${file:~/x.txt}'), [{ raw: 'file:~/x.txt', provider: 'file', path: '~/x.txt' }]);
    assert.deepEqual(refs('${credential:token}'), [{ raw: 'credential:token', provider: 'credential', path: 'token' }]);
    assert.deepEqual(refs('${vault:database/creds/ro#password}'), [{ raw: 'vault:database/creds/ro#password', provider: 'vault', path: 'database/creds/ro#password' }]);
    assert.deepEqual(refs('${op://Work/Linear/api key}'), [{ raw: 'op://Work/Linear/api key', provider: 'op', path: 'op://Work/Linear/api key' }]);
    assert.deepEqual(refs('${my-pass:github/pat}'), [{ raw: 'my-pass:github/pat', provider: 'my-pass', path: 'github/pat' }]);
  });

  it('takes a whole value op://… as one 1Password reference', () => {
    assert.deepEqual(refs('op://Work/Linear/api key'), [{ raw: 'op://Work/Linear/api key', provider: 'op', path: 'op://Work/Linear/api key' }]);
    assert.deepEqual(refs('see op://x/y/z'), [], 'only a whole value is a bare reference');
  });

  it('keeps literals around several references, $$ as $, and a lone $ as itself', () => {
    const segments = parseValue('Bearer ${A} and $${B} costs $5 ${secret:c}$', 'test');
    const out = render(segments, (ref) => `<${ref.raw}>`);
    assert.equal(out, 'Bearer <A> and ${B} costs $5 <secret:c>$');
  });

  it('rejects malformed references with what is wrong', () => {
    rejects('${secret:github', 'has no closing }');
    rejects('x ${}', '${} is empty');
    rejects('${secret:}', 'has no path after the provider name');
    rejects('${bad name}', 'is not a variable name');
    rejects('${:x}', 'does not start with a provider name');
    rejects('${env:not a name}', 'is not a variable name');
    rejects('${op://}', 'has no vault/item/field');
  });

  it('quotes little of a malformed value, which may hold a pasted token', () => {
    const pasted = `${'ghp_' + 'x'.repeat(60)}`;
    assert.throws(() => parseValue('${' + pasted, 'test'), (e: unknown) => e instanceof McpdError && !e.message.includes(pasted));
  });

  it('reads a CLI reference where a bare path means secret:PATH', () => {
    assert.deepEqual({ ...parseRefBody('github/pat', 'arg', 'secret') }, { raw: 'secret:github/pat', provider: 'secret', path: 'github/pat' });
    assert.deepEqual({ ...parseRefBody('local:x', 'arg', 'secret') }, { raw: 'local:x', provider: 'local', path: 'x' });
  });

  it('property: any text either parses or is REF_MALFORMED naming where it is; never another throw', () => {
    const text = fc.string({ unit: fc.oneof(fc.constantFrom('$', '{', '}', ':', '-', '/', 'op://', 'env:', ' '), fc.string({ unit: 'binary', maxLength: 1 })), maxLength: 30 });
    fc.assert(fc.property(text, (value) => {
      try {
        const segments = parseValue(value, 'mcpServers.x.env.T');
        for (const s of segments) if ('ref' in s) assert.ok(s.ref.provider.length > 0);
      } catch (error) {
        assert.ok(error instanceof McpdError, `not an McpdError: ${String(error)}`);
        assert.equal(error.code, 'REF_MALFORMED');
        assert.match(error.message, /^malformed reference in mcpServers\.x\.env\.T: /);
      }
    }), { numRuns: 1000 });
  });

  it('property: literals (with $ doubled) and references written out read back the same', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
    const provider = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,8}$/).filter((p) => p !== 'env' && p !== 'op');
    const path = fc.string({ minLength: 1, maxLength: 12 }).filter((p) => !p.includes('}') && !p.startsWith('-') && !p.startsWith('//'));
    const part = fc.oneof(
      fc.string({ maxLength: 8 }).map((literal) => ({ literal })),
      name.map((n) => ({ raw: n })),
      fc.tuple(provider, path).map(([p, rest]) => ({ raw: `${p}:${rest}` })),
    );
    fc.assert(fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
      const written = parts.map((p) => ('literal' in p ? p.literal.replaceAll('$', '$$$$') : `\${${p.raw}}`)).join('');
      fc.pre(!/^op:\/\/\S/.test(written));
      const read = render(parseValue(written, 'test'), (ref) => `<${ref.raw}>`);
      assert.equal(read, parts.map((p) => ('literal' in p ? p.literal : `<${p.raw}>`)).join(''));
    }), { numRuns: 500 });
  });
});
