/**
 * An HTTPS listener (`socket.listen[N].tls`): a self-signed certificate made here with the
 * openssl CLI; the daemon serves `/mcp/NAME` over TLS to a client that trusts it, and a
 * certificate or key it cannot read stops it from starting, with the config path named.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { startDaemon } from '../helpers/daemon.js';
import { INITIALIZE, messagesOf, POST_HEADERS, send } from '../helpers/mcp-http.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const mcpServers = { everything: { command: process.execPath, args: [everything, 'stdio'] } };

/** A self-signed certificate for localhost and 127.0.0.1, and its key, in `dir`. */
async function selfSigned(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  return { cert, key };
}

describe('an HTTPS listener', () => {
  let s: Sandbox;
  let files: { cert: string; key: string };
  before(async () => {
    s = await sandbox();
    files = await selfSigned(s.dir);
  });
  after(() => s.cleanup());

  it('serves /mcp/NAME over TLS with its certificate, to a client that trusts it', async () => {
    await s.writeConfig({ mcpServers, socket: { listen: [{ host: '127.0.0.1', port: 0, tls: files }] } });
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    const port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(listeners[0]!)![1]);
    const token = (await s.cli(['token', 'create', 'tls-app', '--scope', 'launch:everything'])).stdout.trim();
    const ca = await readFile(files.cert);
    const target = { port, ca };
    const init = await send(target, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(init.status, 200, init.text);
    const id = init.headers['mcp-session-id'] as string;
    const headers = { ...POST_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
    const call = await send(target, 'POST', '/mcp/everything', headers, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'over tls' } } });
    assert.deepEqual((messagesOf(call).find((m) => m.id === 2)?.result as { content: unknown }).content, [{ type: 'text', text: 'Echo: over tls' }]);
    assert.equal((await send(target, 'DELETE', '/mcp/everything', headers)).status, 200);
    // The certificate the client saw is the configured one.
    const peer = await new Promise<Buffer>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        resolve(socket.getPeerCertificate().raw);
        socket.end();
      }).on('error', reject);
    });
    const pem = ca.toString().replace(/-----[A-Z ]+-----|\s/g, '');
    assert.equal(peer.toString('base64'), pem);
    await assert.rejects(send({ port, ca: Buffer.alloc(0) }, 'POST', '/mcp/everything', POST_HEADERS, INITIALIZE), /self[- ]signed certificate/, 'a client that does not trust it refuses the connection');
    assert.equal((await s.cli(['stop'])).exitCode, 0);
  });

  it('a certificate or key it cannot read: the daemon (mcpd daemon, in the foreground) does not start, and says which file and where it is set', async () => {
    const missing = join(s.dir, 'missing.pem');
    await s.writeConfig({ mcpServers, socket: { listen: [{ host: '127.0.0.1', port: 0, tls: { cert: missing, key: files.key } }] } });
    const noCert = await s.cli(['daemon']);
    assert.notEqual(noCert.exitCode, 0);
    assert.match(noCert.stderr, new RegExp(`socket\\.listen\\[0\\]\\.tls\\.cert: cannot read ${missing.replace(/[.]/g, '\\.')} \\(no such file\\)`));
    await s.writeConfig({ mcpServers, socket: { listen: [{ host: '127.0.0.1', port: 0, tls: { cert: files.cert, key: s.dir } }] } });
    const keyFolder = await s.cli(['daemon']);
    assert.notEqual(keyFolder.exitCode, 0);
    assert.match(keyFolder.stderr, /socket\.listen\[0\]\.tls\.key: cannot read .* \(it is a folder\)/);
    const garbage = join(s.dir, 'garbage.pem');
    await writeFile(garbage, 'not a key');
    await s.writeConfig({ mcpServers, socket: { listen: [{ host: '127.0.0.1', port: 0, tls: { cert: files.cert, key: garbage } }] } });
    const bad = await s.cli(['daemon']);
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /socket\.listen\[0\]\.tls: .* are not a certificate and its private key/);
    assert.ok(!bad.stderr.includes('not a key'), 'the key file\'s content is not echoed');
  });
});
