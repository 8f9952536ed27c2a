/** A url server in the config: its shape, its defaults, and the message each mistake gets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { parseConfig } from '../../../daemon/config/load.js';
import type { RemoteServerConfig } from '../../../daemon/config/schema.js';
import { configJsonSchema } from '../../../scripts/config-schema.js';

const FILE = '/cfg/config.json';
const config = (server: object) => JSON.stringify({ mcpServers: { linear: server } });

/** The exact message lines (after the file's) of the CONFIG_INVALID the server gets. */
function problems(server: object): string[] {
  try {
    parseConfig(config(server), FILE);
  } catch (error) {
    assert.ok(error instanceof McpdError, String(error));
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.ok(error.hint, 'says what to do');
    const [first, ...rest] = error.message.split('\n');
    assert.ok(first!.startsWith(FILE), first);
    return rest.length > 0 ? rest : [first!.slice(FILE.length + 2)];
  }
  assert.fail('expected a config error');
}

describe('url servers in the config', () => {
  it('the shape Claude Code, Cursor and VS Code write parses, with Streamable HTTP the default', () => {
    const parsed = parseConfig(JSON.stringify({ mcpServers: {
      linear: { url: 'https://mcp.linear.app/mcp', headers: { Authorization: 'Bearer ${secret:linear/key}' } },
      notion: { url: 'https://mcp.notion.com/mcp' },
      internal: { url: 'https://mcp.corp.example/mcp', oauth: { clientId: 'mcpd', clientSecret: '${env:SECRET}', scopes: ['tools:read'] } },
      legacy: { type: 'sse', url: 'http://127.0.0.1:3001/sse', oauth: false },
    } }), FILE);
    const linear = parsed.mcpServers.linear as RemoteServerConfig;
    assert.equal(linear.type, 'http');
    assert.deepEqual(linear.headers, { Authorization: 'Bearer ${secret:linear/key}' });
    assert.deepEqual((parsed.mcpServers.notion as RemoteServerConfig).headers, {});
    assert.equal((parsed.mcpServers.legacy as RemoteServerConfig).type, 'sse');
  });

  it('exactly one of command and url', () => {
    assert.deepEqual(problems({ command: 'npx', url: 'https://x.example/mcp' }), ['mcpServers.linear: has both "command" and "url"; a server is either a command mcpd starts or a URL it connects to']);
    assert.deepEqual(problems({ args: ['x'] }), ['mcpServers.linear: expected "command" (a server mcpd starts) or "url" (a server it connects to)']);
  });

  it('a key of the other kind is named, with what the kind takes', () => {
    assert.deepEqual(problems({ url: 'https://x.example/mcp', env: { A: 'b' }, args: [] }).sort(), [
      'mcpServers.linear.args: "args" is for a command server; a url server takes "url", "headers" and "oauth"',
      'mcpServers.linear.env: "env" is for a command server; a url server takes "url", "headers" and "oauth"',
    ]);
    assert.deepEqual(problems({ command: 'npx', headers: { A: 'b' } }), ['mcpServers.linear.headers: "headers" is for a url server; a command server takes "command", "args" and "env"']);
  });

  it('type, url and header names are checked', () => {
    assert.deepEqual(problems({ type: 'websocket', url: 'https://x.example/mcp' }), ['mcpServers.linear.type: expected "http" (Streamable HTTP, the default) or "sse" (the legacy SSE transport) for a url server, got "websocket"']);
    assert.deepEqual(problems({ type: 'stdio', url: 'https://x.example/mcp' }), ['mcpServers.linear.type: expected "http" (Streamable HTTP, the default) or "sse" (the legacy SSE transport) for a url server, got "stdio"']);
    // Without a url, an unknown type could have meant either kind: all three are named.
    assert.deepEqual(problems({ type: 'studio', command: 'npx' }), ['mcpServers.linear.type: unknown server type "studio"; expected one of stdio, http, sse ("stdio": a command mcpd starts; "http", "sse": a URL)']);
    assert.deepEqual(problems({ type: 2, command: 'npx' }), ['mcpServers.linear.type: unknown server type 2; expected one of stdio, http, sse ("stdio": a command mcpd starts; "http", "sse": a URL)']);
    assert.deepEqual(problems({ url: 'mcp.linear.app/mcp' }), ['mcpServers.linear.url: expected an http or https URL such as "https://mcp.example.com/mcp", got "mcp.linear.app/mcp"']);
    assert.deepEqual(problems({ url: 'ftp://x.example/mcp' }), ['mcpServers.linear.url: expected an http or https URL, got a ftp: one']);
    assert.deepEqual(problems({ url: 'https://me:pw@x.example/mcp' }), ['mcpServers.linear.url: a URL must not carry a user name or password: URLs end up in logs; put the credential in "headers"']);
    assert.deepEqual(problems({ url: 'https://x.example/mcp', headers: { 'Bad Header': 'x' } }), ['mcpServers.linear.headers.Bad Header: expected an HTTP header name such as "Authorization"']);
    assert.deepEqual(problems({ url: 'https://x.example/mcp', oauth: true }), ['mcpServers.linear.oauth: expected false (no OAuth) or an object of OAuth settings such as {"clientId": "mcpd"}']);
    // zod's union put the message above on these too, hiding which OAuth setting was wrong.
    assert.deepEqual(problems({ url: 'https://x.example/mcp', oauth: { tokenEndpointAuthMethod: 'basic' } }), ['mcpServers.linear.oauth.tokenEndpointAuthMethod: unknown token endpoint auth method "basic"; expected one of client_secret_basic, client_secret_post, none, private_key_jwt']);
    assert.deepEqual(problems({ url: 'https://x.example/mcp', oauth: { grant: 'authorization_code' } }), ['mcpServers.linear.oauth.grant: unknown grant "authorization_code"; expected one of client_credentials (leave "grant" out for a user\'s sign-in)']);
    assert.deepEqual(problems({ url: 'https://x.example/mcp', oauth: { signingAlgorithm: 'HS256', scopes: 'read' } }), [
      'mcpServers.linear.oauth.scopes: expected array, received string',
      'mcpServers.linear.oauth.signingAlgorithm: unknown signing algorithm "HS256"; expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA',
    ]);
  });

  it('a reference in the URL is refused with the header to use instead; header references are checked like env ones', () => {
    assert.deepEqual(problems({ url: 'https://x.example/mcp?key=${secret:linear/key}' }), ['mcpServers.linear.url: ${secret:linear/key} in a URL would be written to logs and status']);
    const error = (() => {
      try {
        return parseConfig(config({ url: 'https://x.example/mcp?key=${secret:linear/key}' }), FILE);
      } catch (e) {
        return e as McpdError;
      }
    })() as McpdError;
    assert.equal(error.hint, 'put the credential in a header instead, e.g. "headers": {"Authorization": "Bearer ${secret:linear/key}"}');
    assert.throws(() => parseConfig(config({ url: 'https://x.example/mcp', headers: { Authorization: 'Bearer ${nope:x}' } }), FILE),
      (e: unknown) => e instanceof McpdError && e.code === 'PROVIDER_UNKNOWN' && e.message.includes('mcpServers.linear.headers.Authorization'));
    assert.throws(() => parseConfig(config({ url: 'https://x.example/mcp', headers: { Authorization: 'Bearer ${VAULT_TOKEN}' } }), FILE),
      (e: unknown) => e instanceof McpdError && e.code === 'CONFIG_INVALID' && e.message.includes('mcpServers.linear.headers.Authorization') && e.message.includes('VAULT_TOKEN'));
  });

  it('the JSON Schema shows both shapes', () => {
    const schema = configJsonSchema() as { properties: { mcpServers: { additionalProperties: { anyOf: Array<{ required?: string[] }> } } } };
    const shapes = schema.properties.mcpServers.additionalProperties.anyOf.map((shape) => shape.required ?? []);
    assert.ok(shapes.some((r) => r.includes('command')) && shapes.some((r) => r.includes('url')), JSON.stringify(shapes));
  });
});
