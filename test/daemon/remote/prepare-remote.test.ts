/** A url server's headers resolve with env's rules: references filled in, all-empty left out, failures named by header. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { parseConfig } from '../../../daemon/config/load.js';
import type { RemoteServerConfig } from '../../../daemon/config/schema.js';
import { prepareRemote } from '../../../daemon/remote/prepare-remote.js';
import { ProviderRegistry } from '../../../providers/registry.js';

const server = (headers: Record<string, string>) =>
  parseConfig(JSON.stringify({ mcpServers: { api: { url: 'https://api.example/mcp', headers } } }), 'config.json').mcpServers.api as RemoteServerConfig;

describe('prepareRemote', () => {
  const registry = new ProviderRegistry({}, { env: { API_TOKEN: 'tok-123456', EMPTY: '' } });

  it('fills references in, keeps literal headers, leaves out a header whose references are all empty (with a note)', async () => {
    const notes: string[] = [];
    const spec = await prepareRemote('api', server({ Authorization: 'Bearer ${API_TOKEN}', 'X-Team': 'core', 'X-Optional': '${EMPTY}' }), 'mcpServers.api', registry, (n) => notes.push(n));
    assert.deepEqual(spec.headers, { Authorization: 'Bearer tok-123456', 'X-Team': 'core' });
    assert.deepEqual(spec.refs, ['${API_TOKEN}', '${EMPTY}']);
    assert.deepEqual(notes, ['left out header X-Optional: its references resolved to empty values']);
    assert.equal(spec.transport, 'http');
    assert.ok(!notes.join('').includes('tok-123456'));
  });

  it('a reference that cannot be resolved names the header', async () => {
    await assert.rejects(prepareRemote('api', server({ Authorization: 'Bearer ${MISSING}' }), 'mcpServers.api', registry, () => {}),
      (e: unknown) => e instanceof McpdError && e.code === 'ENV_UNSET' && e.message.startsWith('mcpServers.api.headers.Authorization: '));
  });

  it('an oauth clientSecret naming an unknown provider is a config error', () => {
    assert.throws(() => parseConfig(JSON.stringify({ mcpServers: { api: { url: 'https://api.example/mcp', oauth: { clientSecret: '${nope:x}' } } } }), 'config.json'),
      (e: unknown) => e instanceof McpdError && e.code === 'PROVIDER_UNKNOWN' && e.message.includes('mcpServers.api.oauth.clientSecret'));
  });
});
