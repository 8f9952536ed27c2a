/**
 * The TCP listener's Host and Origin check against the parser the browser uses (WHATWG URL):
 * for any URL a page could be served from, the Host and Origin the browser sends for it are
 * accepted exactly when that URL's host is loopback or allowed.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { McpdError } from '../../../core/errors.js';
import { checkHostAndOrigin } from '../../../daemon/server/host-check.js';

const ALLOWED = ['host.docker.internal'];
const trusted = new Set(['localhost', '127.0.0.1', '[::1]', ...ALLOWED]);

function accepts(headers: { host?: string; origin?: string }): boolean {
  try {
    checkHostAndOrigin({ headers } as IncomingMessage, ALLOWED, 'socket.listen[0]');
    return true;
  } catch (error) {
    assert.ok(error instanceof McpdError && error.code === 'REFUSED', String(error));
    return false;
  }
}

const pageUrl = fc.oneof(
  fc.webUrl({ authoritySettings: { withIPv4: true, withIPv6: true, withPort: true } }),
  fc.tuple(fc.constantFrom('http', 'https'), fc.constantFrom('localhost', '127.0.0.1', '[::1]', 'LocalHost', 'host.docker.internal', 'localhost.evil.example', '127.0.0.1.nip.io', '[::2]'), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }))
    .map(([scheme, host, port]) => `${scheme}://${host}${port === undefined ? '' : `:${port}`}/`),
);

describe('Host and Origin check', () => {
  it('the Host a browser sends for a URL is accepted exactly when the URL\'s host is loopback or allowed', () => {
    fc.assert(fc.property(pageUrl, (text) => {
      const url = new URL(text);
      assert.equal(accepts({ host: url.host }), trusted.has(url.hostname), `${text} (Host: ${url.host})`);
    }), { numRuns: 2000 });
  });

  it('the Origin a page sends is accepted exactly when its host is loopback or allowed', () => {
    fc.assert(fc.property(pageUrl, (text) => {
      const url = new URL(text);
      assert.equal(accepts({ host: 'localhost:7311', origin: url.origin }), trusted.has(url.hostname), `${text} (Origin: ${url.origin})`);
    }), { numRuns: 2000 });
  });

  it('anything else in the headers is refused, and a missing Origin (a non-browser client) is fine', () => {
    for (const host of [undefined, '', 'localhost@evil.example', 'evil.example#@localhost', 'localhost:', 'localhost:99999999', ' localhost', 'localhost/x', '[::1', 'user@127.0.0.1']) {
      assert.equal(accepts({ host }), false, String(host));
    }
    for (const origin of ['null', 'http://localhost/', 'http://user@localhost', 'localhost', 'http://localhost:3000/x', 'http://evil.example']) {
      assert.equal(accepts({ host: '127.0.0.1:7311', origin }), false, origin);
    }
    assert.equal(accepts({ host: '127.0.0.1:7311' }), true);
    assert.equal(accepts({ host: 'HOST.DOCKER.INTERNAL:7311', origin: 'http://localhost:3000' }), true);
  });

  it('the refusal names the listener, the header and what to do', () => {
    assert.throws(() => checkHostAndOrigin({ headers: { host: 'evil.example:7311' } } as IncomingMessage, [], 'socket.listen[1]'), {
      code: 'REFUSED',
      message: 'socket.listen[1] refused a request with the Host header "evil.example:7311": only localhost, 127.0.0.1, [::1] and the names in its allowedHosts may be used',
      hint: 'connect through localhost or 127.0.0.1; a name such as host.docker.internal must be listed in socket.listen[1].allowedHosts (a web page cannot reach the daemon this way)',
    });
    assert.throws(() => checkHostAndOrigin({ headers: { host: 'localhost', origin: 'https://evil.example' } } as IncomingMessage, [], 'socket.listen[0]'), {
      message: /^socket.listen\[0\] refused a request with the Origin header "https:\/\/evil.example"/,
    });
    assert.throws(() => checkHostAndOrigin({ headers: {} } as IncomingMessage, [], 'socket.listen[0]'), { message: /^socket.listen\[0\] refused a request with no Host header:/ });
  });
});
