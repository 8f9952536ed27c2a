/** What mcpd migrate takes for a secret, and what it leaves to the host app. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { looksSecret, planServers } from '../../../cli/migrate/plan.js';

describe('migrate plan', () => {
  it('a secret by its variable\'s name or its value\'s shape; a path, a flag or a number is not one', () => {
    for (const [name, value] of [['GITHUB_PERSONAL_ACCESS_TOKEN', 'abc12345'], ['OPENAI_API_KEY', 'x-123456'], ['apiKey', 'abcdefgh'], ['DB_PASSWORD', 'hunter22'], ['ANYTHING', 'sk-ant-0123456789'], ['X', 'xoxb-1-2-3'], ['Y', 'AKIAABCDEFGHIJKLMNOP']]) {
      assert.equal(looksSecret(name!, value!), true, `${name}=${value}`);
    }
    for (const [name, value] of [['NODE_PATH', '/usr/lib/node'], ['LOG_LEVEL', 'debug'], ['USE_TOKEN', 'true'], ['KEY_COUNT', '3'], ['API_KEY', ''], ['KEYBOARD_LAYOUT', 'us']]) {
      assert.equal(looksSecret(name!, value!), false, `${name}=${value}`);
    }
  });

  it('leaves a server whose argv holds a secret, or that uses the host\'s own variables; takes the rest', () => {
    const plans = planServers({
      flag: { command: 'x', args: ['--token', 'abc'] },
      inline: { command: 'x', args: ['--api-key=abc'] },
      vscode: { command: 'x', env: { TOKEN: '${input:token}' } },
      plain: { command: 'x', args: ['serve'], env: { TOKEN: 'abc12345' }, cwd: '/srv' },
      'bad name': { command: 'x' },
    }, {});
    assert.deepEqual(plans.map((p) => [p.name, p.action]), [['flag', 'skip'], ['inline', 'skip'], ['vscode', 'skip'], ['plain', 'migrate'], ['bad name', 'skip']]);
    const plain = plans[3]!;
    assert.ok(plain.action === 'migrate');
    assert.deepEqual(plain.definition, { command: 'x', args: ['serve'], env: { TOKEN: '${secret:plain/TOKEN}' }, cwd: '/srv' });
  });
});
