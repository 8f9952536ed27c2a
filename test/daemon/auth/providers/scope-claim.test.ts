/**
 * The `scope` claim is read as an authorization server writes it (RFC 6749 §3.3: scope tokens
 * of printable ASCII but `"` and `\`, separated by spaces): a needed scope is held only as a whole
 * token, never as a prefix, a suffix or a token joined by another whitespace (fast-check).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { missingScopes, scopeTokens } from '../../../../daemon/auth/providers/scope-claim.js';

const scopeToken = fc.stringMatching(/^[\x21\x23-\x5B\x5D-\x7E]{1,10}$/);
const spaces = fc.integer({ min: 1, max: 3 }).map((n) => ' '.repeat(n));

describe('the scope claim', () => {
  it('holds exactly the scope tokens the server wrote, however many spaces between them', () => {
    fc.assert(fc.property(fc.array(scopeToken, { maxLength: 8 }), fc.array(scopeToken, { maxLength: 4 }), fc.array(spaces, { minLength: 10, maxLength: 10 }), (held, needed, gaps) => {
      const claim = gaps[9] === ' ' ? held.join(' ') : ` ${held.map((t, i) => `${t}${gaps[i]}`).join('')}`;
      assert.deepEqual(missingScopes(claim, needed), needed.filter((scope) => !held.includes(scope)));
    }));
  });

  it('never takes a longer token, or tokens joined by a tab or a newline, for a needed scope', () => {
    fc.assert(fc.property(scopeToken, scopeToken, fc.constantFrom('', '\t', '\n', '\u00a0', ','), (needed, extra, joint) => {
      for (const claim of [`${needed}${joint}${extra}`, `${extra}${joint}${needed}`]) {
        if (claim.split(' ').includes(needed)) continue; // joint '' may rebuild the token itself (extra equal to it)
        assert.deepEqual(missingScopes(claim, [needed]), [needed], JSON.stringify(claim));
      }
    }));
  });

  it('a claim that is not a string (an array, a number, none) holds no scope', () => {
    for (const claim of [['mcp'], 7, undefined, null, { mcp: true }]) assert.deepEqual(scopeTokens(claim), []);
    assert.deepEqual(missingScopes(['mcp'], ['mcp']), ['mcp']);
    assert.deepEqual(missingScopes(undefined, []), []);
  });
});
