/**
 * vault/request.ts against real HTTP servers, with property tests: whatever Location a Vault (or
 * a proxy in front of it) answers with, the token reaches no other origin; and the plain-HTTP
 * warning judges the host the request really goes to, however the address spells it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { CrossOriginRedirect, plainHttpElsewhere, vaultRequest } from '../../../providers/vault/request.js';

interface Recorder {
  readonly server: Server;
  readonly origin: string;
  readonly port: number;
  /** The X-Vault-Token of each request, with its URL. */
  readonly seen: Array<{ url: string; token: string }>;
}

/** A server that answers the first request since `seen` was emptied with `redirect()` (a 307 Location), every other with 200. */
async function recorder(host: string, redirect: () => string | undefined): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', token: String(req.headers['x-vault-token'] ?? '') });
    // Only the first request since the test reset `seen`: a Location back to /v1/start is then answered, not a loop.
    const location = seen.length === 1 ? redirect() : undefined;
    if (location !== undefined) res.writeHead(307, { location }).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return { server, port, origin: `http://${host}:${port}`, seen };
}

let location = '';
const home = await recorder('127.0.0.1', () => location);
// Another address of this machine stands for another host.
const elsewhere = await recorder('127.0.0.2', () => undefined);
after(async () => {
  for (const { server } of [home, elsewhere]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const request = vaultRequest({ timeoutMs: 5000 }).defaults();

describe('vault requests and redirects', () => {
  it('the token reaches no other origin, whatever the Location; within the origin the redirect is followed', async () => {
    const homeForms = [`http://127.0.0.1:${home.port}`, `//127.0.0.1:${home.port}`, `http://0x7f.1:${home.port}`, `HTTP://127.0.0.1:${home.port}`, ''];
    const otherForms = [
      elsewhere.origin, `//127.0.0.2:${elsewhere.port}`, `http://127.0.0.1:${home.port}@127.0.0.2:${elsewhere.port}`,
      `http://localhost:${home.port}`, `https://127.0.0.1:${home.port}`, `http://127.0.0.1:${elsewhere.port}`,
    ];
    // Paths from `/` up, `//` and `/.` among them.
    const path = fc.stringMatching(/^\/[a-z0-9/._~%-]{0,20}$/);
    await fc.assert(fc.asyncProperty(fc.boolean(), fc.constantFrom(...homeForms), fc.constantFrom(...otherForms), path, async (stay, homeForm, otherForm, tail) => {
      location = `${stay ? homeForm : otherForm}${tail}`;
      home.seen.length = 0;
      elsewhere.seen.length = 0;
      const start = `${home.origin}/v1/start`;
      const parses = URL.canParse(location, start);
      const sameOrigin = parses && new URL(location, start).origin === home.origin;
      try {
        const response = await request({ method: 'GET', uri: start, headers: { 'X-Vault-Token': 'hvs.property' } });
        if (!parses) {
          // A Location that does not parse (`//`) is not followed: the 307 is what node-vault sees.
          assert.equal(response.statusCode, 307);
          assert.equal(home.seen.length, 1);
          return;
        }
        assert.ok(sameOrigin, `followed ${location} to another origin`);
        assert.equal(response.statusCode, 200);
        assert.deepEqual(home.seen.map((s) => s.token), ['hvs.property', 'hvs.property'], `followed ${location}`);
      } catch (error) {
        if (!(error instanceof CrossOriginRedirect)) throw error;
        assert.ok(parses);
        assert.ok(!sameOrigin, `refused ${location}, which is the same origin`);
        assert.equal(home.seen.length, 1);
      }
      assert.deepEqual(elsewhere.seen, [], `${location} reached the other host`);
    }), { numRuns: 60 });
  });
});

describe('the plain-HTTP warning', () => {
  const ipv4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.nat(255), fc.nat(255), fc.nat(255));
  /** The ways a URL may spell one IPv4 address, all of which WHATWG URL (and so the request) reads as that address. */
  const spelled = (bytes: readonly number[], style: number): string => {
    const [a, b, c, d] = bytes as [number, number, number, number];
    const whole = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
    switch (style) {
      case 0: return `${a}.${b}.${c}.${d}`;
      case 1: return bytes.map((x) => `0x${x.toString(16)}`).join('.');
      case 2: return bytes.map((x) => `0${x.toString(8)}`).join('.');
      case 3: return String(whole);
      case 4: return `0x${whole.toString(16)}`;
      default: return `${a}.${(b << 16) + (c << 8) + d}`;
    }
  };

  it('an IPv4 host warns exactly when it is not in 127.0.0.0/8, however it is written', () => {
    fc.assert(fc.property(ipv4, fc.integer({ min: 0, max: 5 }), (bytes, style) => {
      const address = `http://${spelled(bytes, style)}:8200`;
      assert.equal(new URL(address).hostname, bytes.join('.'), 'the request goes to this address');
      assert.equal(plainHttpElsewhere(address), bytes[0] !== 127, address);
      assert.equal(plainHttpElsewhere(address.replace('http:', 'https:')), false);
    }), { numRuns: 500 });
  });

  it('names of this machine do not warn; other names do', () => {
    for (const address of ['http://localhost:8200', 'http://LOCALHOST.:8200', 'http://vault.localhost', 'http://[::1]:8200', 'http://[0:0:0:0:0:0:0:1]']) {
      assert.equal(plainHttpElsewhere(address), false, address);
    }
    for (const address of ['http://vault.example.com', 'http://localhost.example.com', 'http://[::2]', 'http://[::ffff:10.0.0.1]']) {
      assert.equal(plainHttpElsewhere(address), true, address);
    }
  });
});
