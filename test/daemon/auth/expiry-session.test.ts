/**
 * A daemon in this process, on a manual clock: when the token of an open session expires, the
 * session is closed then (as a revoked token's is), without any connection asking.
 */
import assert from 'node:assert/strict';
import { OWNER } from '../../../daemon/auth/scopes.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Daemon } from '../../../daemon/daemon.js';
import { fixture } from '../../helpers/repo.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { MiniSession, waitFor } from '../../helpers/daemon.js';

let dir: string;
let daemon: Daemon;
const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpd-exp-'));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify({ mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')] } } }));
  const socket = join(dir, 's', 'mcpd.sock');
  daemon = await Daemon.start({
    configPath, binding: { kind: 'path', path: socket }, socketPath: socket, stateDir: join(dir, 'state'),
    env: { PATH: process.env.PATH }, log: () => {}, version: 'test', clock, watch: false,
  });
});
after(async () => {
  await daemon.stop();
  await rm(dir, { recursive: true, force: true });
});

it('closes a session when its token expires', { timeout: 20_000 }, async () => {
  const { token } = await daemon.access.create('short', ['launch:mini'], '2h', OWNER);
  const session = await MiniSession.open(daemon.status().socket, 'mini', token);
  await session.initialize();
  clock.advance(3_600_000);
  assert.deepEqual((await session.request('ping')).result, {}, 'still valid after 1 h');
  clock.advance(3_600_000);
  const [code, reason] = await session.closed;
  assert.equal(code, 1008);
  assert.match(reason, /client token was revoked or has expired/);
  // The client hears of the close first; the daemon forgets the session once its server has shut down.
  await waitFor(async () => daemon.sessions().length === 0, 'the session to be dropped');
});
