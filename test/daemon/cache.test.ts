/**
 * The daemon spares the backends: counted at a real password-manager CLI (an exec provider),
 * ten concurrent launches needing one reference ask it once, and a warm launch asks nothing.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../helpers/repo.js';
import { MiniSession, startDaemon } from '../helpers/daemon.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

describe('daemon resolver cache', () => {
  let s: Sandbox;
  let countFile: string;
  const calls = async () => (await readFile(countFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  const launch = async () => {
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'mini');
    await session.initialize();
    const answer = await session.request('tools/call', { name: 'get-env', arguments: {} });
    await session.close();
    return (JSON.parse((answer.result!.content as Array<{ text: string }>)[0]!.text) as Record<string, string>).TOKEN;
  };

  before(async () => {
    s = await sandbox();
    countFile = join(s.dir, 'calls');
    await s.writeConfig({
      mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')], env: { TOKEN: '${pass:team/token}' } } },
      providers: { pass: { type: 'exec', command: [process.execPath, fixture('counting-pass.js')], cacheTtl: '5m' } },
    });
    await startDaemon(s, { COUNT_FILE: countFile });
  });
  after(() => s.cleanup());

  it('ten concurrent launches make one backend call; a warm launch makes none', async () => {
    const tokens = await Promise.all(Array.from({ length: 10 }, launch));
    assert.deepEqual(tokens, Array(10).fill('value-of-team/token-123456'));
    assert.equal(await calls(), 1);
    assert.equal(await launch(), 'value-of-team/token-123456');
    assert.equal(await calls(), 1);
  });
});
