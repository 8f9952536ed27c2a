/** `warm` in the config: its range, url servers refusing it, editing it restarting no session, and which servers are never pre-started. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { diffConfig } from '../../../daemon/config/diff.js';
import { parseConfig } from '../../../daemon/config/load.js';
import { needsTheUser } from '../../../daemon/config/needs-user.js';
import type { LocalServerConfig } from '../../../daemon/config/schema.js';

const FILE = '/cfg/config.json';

function refused(config: object): string {
  try {
    parseConfig(JSON.stringify(config), FILE);
  } catch (error) {
    assert.ok(error instanceof McpdError, String(error));
    assert.equal(error.code, 'CONFIG_INVALID');
    return error.message;
  }
  assert.fail('expected a config error');
}

describe('warm in the config', () => {
  it('defaults to 0 and takes 0 to 16 on a command server', () => {
    const parsed = parseConfig(JSON.stringify({ mcpServers: { a: { command: 'x' }, b: { command: 'x', warm: 16 } } }), FILE);
    assert.equal((parsed.mcpServers.a as LocalServerConfig).warm, 0);
    assert.equal((parsed.mcpServers.b as LocalServerConfig).warm, 16);
    assert.match(refused({ mcpServers: { b: { command: 'x', warm: 17 } } }), /mcpServers\.b\.warm: number must be less than or equal to 16/);
    assert.match(refused({ mcpServers: { b: { command: 'x', warm: 1.5 } } }), /mcpServers\.b\.warm: expected integer/);
  });

  it('a url server refuses it, saying there is no process to start', () => {
    assert.match(refused({ mcpServers: { linear: { url: 'https://mcp.linear.app/mcp', warm: 2 } } }),
      /mcpServers\.linear\.warm: "warm" keeps processes started ahead of need; a url server has no process to start \(remove "warm"\)/);
  });

  it('changing only warm changes no running server (the pool is rebuilt, the sessions are left alone)', () => {
    const before = parseConfig(JSON.stringify({ mcpServers: { a: { command: 'x' } } }), FILE);
    const after = parseConfig(JSON.stringify({ mcpServers: { a: { command: 'x', warm: 2 } } }), FILE);
    assert.deepEqual(diffConfig(before, after).changed, []);
    const edited = parseConfig(JSON.stringify({ mcpServers: { a: { command: 'y', warm: 2 } } }), FILE);
    assert.deepEqual(diffConfig(after, edited).changed, ['a']);
  });

  it('a reference read through the 1Password desktop app holds the server back; a service account does not', () => {
    const config = parseConfig(JSON.stringify({
      providers: { team: { type: '1password', account: 'my-team.1password.com' }, robot: { type: '1password', serviceAccountToken: '${env:SA}' } },
      mcpServers: {
        desk: { command: 'x', env: { T: '${team:Vault/Item/field}' }, warm: 1 },
        bot: { command: 'x', env: { T: '${robot:Vault/Item/field}' }, warm: 1 },
        builtin: { command: 'x', env: { T: '${op://Vault/Item/field}' }, warm: 1 },
      },
    }), FILE);
    const { desk, bot, builtin } = config.mcpServers;
    assert.equal(needsTheUser('desk', desk!, config, {}),
      '${team:Vault/Item/field} is read through the 1Password desktop app, which asks the user to approve; the server starts when a session opens');
    assert.equal(needsTheUser('bot', bot!, config, {}), undefined);
    // The built-in op provider follows the environment, as the op CLI does: a token beats an account.
    assert.match(needsTheUser('builtin', builtin!, config, { OP_ACCOUNT: 'me.1password.com' }) ?? '', /1Password desktop app/);
    assert.equal(needsTheUser('builtin', builtin!, config, { OP_ACCOUNT: 'me.1password.com', OP_SERVICE_ACCOUNT_TOKEN: 'ops_x' }), undefined);
  });
});
