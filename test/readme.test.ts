// The README's config examples are parsed by the real loader, so docs cannot drift from code.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseConfig } from '../daemon/config/load.js';
import { repoRoot } from './helpers/repo.js';

it('every JSON block of the README that holds mcpServers or rotation is a valid config', async () => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('mcpServers') || b.includes('"rotation"'));
  assert.ok(blocks.length >= 3, 'the README shows the host-app entry, mcpd\'s own config and a rotation block');
  for (const block of blocks) {
    const config = parseConfig(block, 'README.md');
    assert.ok(Object.keys(config.mcpServers).length + Object.keys(config.rotation).length > 0);
  }
});
