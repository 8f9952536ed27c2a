/**
 * Resource URIs in the policy: each spelling of /etc/passwd the issue names is denied by
 * `file:///etc/**`, an allow list is not escaped by dot segments, and, by a fast-check property
 * against fileURLToPath (what a Node server opens), the path a server would open decides.
 */
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { compilePolicy, deniedRequest, denialError, filterList } from '../../../daemon/policy/policy.js';
import { canonicalUri } from '../../../daemon/policy/uri.js';

const deny = compilePolicy({ resources: { deny: ['file:///etc/**'] } }, 'mcpServers.fs');
const allow = compilePolicy({ resources: { allow: ['file:///srv/**'] } }, 'mcpServers.fs');
const read = (policy: typeof deny, uri: string) => deniedRequest(policy, 'resources/read', { uri }, new Set());

describe('resource URIs are judged in their canonical form', () => {
  it('canonicalises scheme and host case, unreserved escapes, dot segments, a file URL\'s localhost and repeated slashes', () => {
    const cases: Array<[string, string]> = [
      ['file:///tmp/../etc/passwd', 'file:///etc/passwd'],
      ['file:///%65tc/passwd', 'file:///etc/passwd'],
      ['FILE:///etc/passwd', 'file:///etc/passwd'],
      ['file://localhost/etc/passwd', 'file:///etc/passwd'],
      ['file://LOCALHOST/etc/passwd', 'file:///etc/passwd'],
      ['file:///tmp/%2e%2E/etc/passwd', 'file:///etc/passwd'],
      ['file:///etc\\passwd', 'file:///etc/passwd'],
      ['file:////etc//passwd', 'file:///etc/passwd'],
      ['file:///my%21dir/%c3%a9', 'file:///my!dir/%C3%A9'],
      ['HTTP://Example.COM:80/a/./b/../%7euser', 'http://example.com/a/~user'],
      ['Test://Static/resource/%31', 'test://static/resource/1'],
      ['private-notes', 'private-notes'],
    ];
    for (const [raw, canonical] of cases) assert.equal(canonicalUri(raw), canonical, raw);
  });

  it('each spelling of /etc/passwd (the issue\'s, and with a query fileURLToPath ignores) is denied by file:///etc/**, in reads, subscriptions and lists', () => {
    const spellings = ['file:///tmp/../etc/passwd', 'file:///%65tc/passwd', 'FILE:///etc/passwd', 'file://localhost/etc/passwd', 'file:////etc/passwd', 'file:///etc\\passwd', 'file:///etc/passwd?x/../y#z'];
    for (const uri of spellings) {
      assert.deepEqual(read(deny, uri), { kind: 'resources', name: uri, rule: 'mcpServers.fs.resources.deny', pattern: 'file:///etc/**' }, uri);
      assert.equal(deniedRequest(deny, 'resources/subscribe', { uri }, new Set())?.rule, 'mcpServers.fs.resources.deny', uri);
    }
    const listed = filterList(deny, 'resources/list', { resources: [...spellings.map((uri) => ({ uri, name: 'x' })), { uri: 'file:///tmp/etc/passwd', name: 'kept' }] });
    assert.deepEqual((listed.result as { resources: Array<{ name: string }> }).resources.map((r) => r.name), ['kept']);
    assert.equal(read(deny, 'file:///tmp/etc/passwd'), undefined);
  });

  it('an allow list is matched by the canonical form only: dot segments do not climb out of it', () => {
    assert.equal(read(allow, 'file:///srv/data/a.txt'), undefined);
    assert.equal(read(allow, 'FILE://localhost/srv/%64ata/a.txt'), undefined);
    for (const uri of ['file:///srv/../etc/passwd', 'file:///srv/%2e%2e/etc/passwd', 'file:///srv/data/..\\..\\etc/passwd']) {
      assert.deepEqual(read(allow, uri), { kind: 'resources', name: uri, rule: 'mcpServers.fs.resources.allow' }, uri);
    }
  });

  it('an encoded "/", "\\" or NUL in the path cannot be judged: refused with the policy error naming the rule', () => {
    for (const uri of ['file:///srv/..%2F..%2Fetc/passwd', 'file:///srv/..%5c..%5cetc/passwd', 'file:///srv/a%00.txt']) {
      const denial = read(allow, uri);
      assert.equal(denial?.rule, 'mcpServers.fs.resources', uri);
      assert.equal(read(deny, uri)?.rule, 'mcpServers.fs.resources', uri);
    }
    const error = JSON.parse(denialError(9, read(allow, 'file:///srv/..%2Fx')!)) as { error: { code: number; message: string } };
    assert.equal(error.error.code, -32003);
    assert.equal(error.error.message, 'mcpd policy: resource "file:///srv/..%2Fx" is denied: it holds an encoded "/", "\\" or NUL in its path, which servers decode differently, so mcpServers.fs.resources cannot judge it; the request was not passed to the server');
    const open = compilePolicy({ tools: { deny: ['x'] } }, 'mcpServers.fs');
    assert.equal(read(open, 'file:///srv/..%2Fx'), undefined, 'without a resource rule there is nothing to judge');
  });
});

// File URIs spelled every way a client might, to compare with the path a Node server opens.
const encodeSome = (text: string) => fc.array(fc.constantFrom(0, 1, 2), { minLength: text.length, maxLength: text.length }).map((how) =>
  [...Buffer.from(text)].map((byte, i) => (how[i] === 0 && byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16)[how[i] === 2 ? 'toUpperCase' : 'toLowerCase']().padStart(2, '0')}`)).join(''));
const segment = fc.constantFrom('etc', 'srv', 'data', 'passwd', '..', '.', '', 'a b', 'é', 'my!dir', 'x?y', '%').chain((s) => (s === '%' ? fc.constant('%25') : encodeSome(s)));
const fileUri = fc.tuple(
  fc.constantFrom('file://', 'FILE://', 'File://', 'file://localhost', 'file://LocalHost', 'file:'),
  fc.array(fc.tuple(fc.constantFrom('/', '//', '\\'), segment), { minLength: 1, maxLength: 6 }),
).map(([head, parts]) => `${head}${parts.map(([sep, s]) => `${sep}${s}`).join('')}`);

/** The path a server that uses fileURLToPath opens, or undefined when it refuses the URI. */
function served(uri: string): string | undefined {
  try {
    return posix.resolve(fileURLToPath(new URL(uri)));
  } catch {
    return undefined;
  }
}

describe('property: the policy judges the path fileURLToPath gives the server', () => {
  it('no URI whose path is under /etc passes file:///etc/**, and every URI file:///srv/** lets through is /srv or under it', () => {
    let underEtc = 0;
    fc.assert(fc.property(fileUri, (uri) => {
      const path = served(uri);
      if (path === undefined) return;
      if (path.startsWith('/etc/')) {
        underEtc += 1;
        assert.ok(read(deny, uri), `${uri} opens ${path}, yet passed the deny`);
      }
      // `srv/**` also matches the folder itself, as a glob does.
      if (!read(allow, uri)) assert.ok(path === '/srv' || path.startsWith('/srv/'), `${uri} opens ${path}, yet passed the allow list`);
    }), { numRuns: 3000 });
    assert.ok(underEtc > 100, `enough URIs reached /etc for the property to mean something (${underEtc})`);
  });
});
