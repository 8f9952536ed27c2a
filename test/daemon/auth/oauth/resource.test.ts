/**
 * The endpoint a grant is bound to is the one the gateway serves: for any server name, and any
 * percent-encoding of it in the client's `resource`, the canonical resource equals what the
 * listener computes for a request to that server (resource-metadata.ts, the oauth provider's
 * comparison), and a name the gateway would not route (empty, holding `/`) is refused.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalResource } from '../../../../daemon/auth/oauth/resource.js';
import { protectedResource } from '../../../../daemon/gateway/resource-metadata.js';

const ORIGIN = 'http://127.0.0.1:7313';
const LISTENER = { tls: false, unix: false };
const REQ = { headers: { host: '127.0.0.1:7313' } } as IncomingMessage;

/** A name's path segment as some client might write it: each character as is (when URL-safe) or percent-encoded, byte by byte. */
function spelled(name: string, encodeAll: boolean[]): string {
  return [...name].map((c, i) => {
    const plain = /^[A-Za-z0-9_.~-]$/.test(c);
    if (plain && !encodeAll[i % encodeAll.length]) return c;
    return [...Buffer.from(c)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  }).join('');
}

describe('canonicalResource', () => {
  it('binds a grant to exactly the endpoint the listener names for the request to that server', () => {
    const char = fc.constantFrom(...'aZ09-_.~ %é?#&+:@'.split(''), '/');
    fc.assert(fc.property(fc.array(char, { maxLength: 12 }).map((cs) => cs.join('')), fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }), (name, encodeAll) => {
      const asked = new URL(`${ORIGIN}/mcp/${spelled(name, encodeAll)}`);
      const canonical = canonicalResource(asked, ORIGIN);
      if (name === '' || name.includes('/')) return void assert.equal(canonical, undefined);
      // What the oauth provider compares it with: the resource of a request routed to `name`.
      const served = protectedResource(REQ, new URL(`/mcp/${encodeURIComponent(name)}`, 'http://mcpd'), LISTENER);
      assert.equal(canonical, served?.resource);
    }), { numRuns: 500 });
  });

  it('refuses another origin, a query or a fragment, and a path outside /mcp/', () => {
    assert.equal(canonicalResource(new URL('http://127.0.0.1:7314/mcp/a'), ORIGIN), undefined);
    assert.equal(canonicalResource(new URL(`${ORIGIN}/mcp/a?x=1`), ORIGIN), undefined);
    assert.equal(canonicalResource(new URL(`${ORIGIN}/mcp/a#x`), ORIGIN), undefined);
    assert.equal(canonicalResource(new URL(`${ORIGIN}/v1/session/a`), ORIGIN), undefined);
    assert.equal(canonicalResource(new URL(`${ORIGIN}/mcp/a/../b`), ORIGIN), `${ORIGIN}/mcp/b`, 'the URL parser resolves dot segments first, as a client\'s does');
  });
});
