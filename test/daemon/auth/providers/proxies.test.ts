/**
 * Which peers a `forwarded` provider trusts: any IPv4 address against any CIDR range agrees
 * with the arithmetic of the prefix (a property), an IPv4-mapped IPv6 peer (`::ffff:a.b.c.d`,
 * what a dual-stack socket reports) is judged as its IPv4 address, and nothing else slips by.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normalisePeer, proxyProblem, trustedProxies } from '../../../../daemon/auth/providers/proxies.js';

const dotted = (n: number) => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');

describe('trusted proxies', () => {
  it('property: an IPv4 peer is trusted by a range exactly when its first prefix bits are the range\'s, mapped or not', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(fc.property(u32, u32, fc.integer({ min: 0, max: 32 }), (peer, base, prefix) => {
      const trusted = trustedProxies([`${dotted(base)}/${prefix}`]);
      const expected = prefix === 0 || peer >>> (32 - prefix) === base >>> (32 - prefix);
      assert.equal(trusted(dotted(peer)), expected);
      assert.equal(trusted(`::ffff:${dotted(peer)}`), expected);
      assert.equal(trustedProxies([dotted(base)])(dotted(peer)), peer === base);
    }), { numRuns: 500 });
  });

  it('IPv6 addresses and ranges; no peer address, or one of the other family, is never trusted', () => {
    const trusted = trustedProxies(['fd00::/8', '::1', '10.0.0.0/8']);
    assert.equal(trusted('fd12:3456::1'), true);
    assert.equal(trusted('fe80::1'), false);
    assert.equal(trusted('::1'), true);
    assert.equal(trusted('0:0:0:0:0:0:0:1'), true);
    assert.equal(trusted('127.0.0.1'), false);
    assert.equal(trusted(undefined), false);
    assert.equal(trusted('not an address'), false);
    assert.equal(trustedProxies(['0.0.0.0/0'])('::2'), false, 'all of IPv4 is not IPv6');
  });

  it('normalises only a mapped IPv4 address; says why an entry is not an address or range', () => {
    assert.equal(normalisePeer('::ffff:192.168.1.9'), '192.168.1.9');
    assert.equal(normalisePeer('::FFFF:10.0.0.1'), '10.0.0.1');
    assert.equal(normalisePeer('::ffff:7f00:1'), '::ffff:7f00:1', 'the hex form is no dotted IPv4 to strip to');
    assert.equal(normalisePeer('fd00::1'), 'fd00::1');
    assert.equal(proxyProblem('10.0.0.0/8'), undefined);
    assert.equal(proxyProblem('10.0.0.0/33'), '"10.0.0.0/33" is not an IP address or a CIDR range');
  });
});
