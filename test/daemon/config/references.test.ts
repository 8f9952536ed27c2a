import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../daemon/config/load.js';
import { referenceUses } from '../../../daemon/config/references.js';

describe('referenceUses', () => {
  it('lists each reference once, in config order, with every server using it', () => {
    const config = parseConfig(JSON.stringify({
      mcpServers: {
        github: { command: 'x', args: ['--root', '${HOME}/src'], env: { T: '${secret:github/pat}', U: 'Bearer ${secret:github/pat}' } },
        linear: { command: 'y', env: { K: '${op://Work/Linear/key}', T: '${secret:github/pat}' } },
        plain: { command: 'z' },
      },
    }), '/tmp/config.json');
    const uses = referenceUses(config).map(({ ref, servers }) => [ref.raw, ref.provider, servers]);
    assert.deepEqual(uses, [
      ['secret:github/pat', 'secret', ['github', 'linear']],
      ['HOME', 'env', ['github']],
      ['op://Work/Linear/key', 'op', ['linear']],
    ]);
  });
});
