/**
 * A listener's chain over real TCP behind the daemon's socket server: `bearer` (tokens with
 * roles, revoked and expired ones refused with RFC 6750's challenge), `none`, the owner-only
 * socket's chain, the first provider's refusal when all refuse, an async provider (as a JWKS
 * fetch would be), and a provider's bug never skipped past to a later provider.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { McpdError } from '../../../../core/errors.js';
import { ClientAccess } from '../../../../daemon/auth/access.js';
import { AuthChain } from '../../../../daemon/auth/providers/chain.js';
import { noneProvider } from '../../../../daemon/auth/providers/none.js';
import { OWNER, type Principal } from '../../../../daemon/auth/scopes.js';
import { TokenStore } from '../../../../daemon/auth/store.js';
import { type Config, configSchema } from '../../../../daemon/config/schema.js';
import { type Answer, ask, type ChainServer, serveChain } from '../../../helpers/auth-chain.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

const HOUR = 3_600_000;
const kiosk = 'mcpd_kiosk-config-token-for-the-chain-test';
let config: Config = configSchema.parse({
  roles: { reader: {}, writer: {} },
  clients: { kiosk: { tokenSha256: createHash('sha256').update(kiosk).digest('hex'), roles: ['reader'] } },
});
const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
let access: ClientAccess;

function chainOf(entries: readonly object[]): AuthChain {
  return AuthChain.forListener(configSchema.parse({ socket: { listen: [{ port: 0, auth: entries }] } }).socket.listen[0]!.auth, 0, access, () => config);
}

async function served<T>(chain: AuthChain, use: (server: ChainServer) => Promise<T>): Promise<T> {
  const server = await serveChain(chain);
  try {
    return await use(server);
  } finally {
    await server.close();
  }
}

const bearer = (token: string) => `Authorization: Bearer ${token}`;
const refusal = (answer: Answer) => {
  assert.notEqual(answer.status, 101, JSON.stringify(answer));
  const { status, challenge, error } = answer as Exclude<Answer, { status: 101 }>;
  return { status, challenge, code: error.code, message: error.message };
};
const principal = (answer: Answer) => {
  assert.equal(answer.status, 101, JSON.stringify(answer));
  return (answer as Extract<Answer, { status: 101 }>).principal;
};

describe('a listener\'s chain of providers', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpd-chain-'));
    access = new ClientAccess(await TokenStore.open(join(dir, 'tokens.json')), () => config, clock, { by: () => ({ record: () => {} }) });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('bearer: a token with roles and no scopes is accepted with them, one from the config\'s clients too', async () => {
    const { token } = await access.create('viewer', [], undefined, OWNER, ['reader', 'writer']);
    await served(chainOf([{ type: 'bearer' }]), async ({ port }) => {
      assert.deepEqual(principal(await ask(port, [bearer(token)])), { kind: 'token', subject: 'token:viewer', name: 'viewer', source: 'state', scopes: [], roles: ['reader', 'writer'] });
      assert.deepEqual(principal(await ask(port, [bearer(kiosk)])), { kind: 'token', subject: 'token:kiosk', name: 'kiosk', source: 'config', scopes: [], roles: ['reader'] });
    });
  });

  it('bearer: none presented is 401 with the bare challenge; revoked, expired and unknown tokens 401 with error="invalid_token"', async () => {
    const revoked = (await access.create('gone', ['launch:*'], undefined, OWNER)).token;
    await access.revoke('gone', OWNER);
    const short = (await access.create('short', ['launch:*'], '1h', OWNER)).token;
    await served(chainOf([{ type: 'bearer' }]), async ({ port, refusals }) => {
      assert.equal(principal(await ask(port, [bearer(short)])).subject, 'token:short');
      clock.advance(2 * HOUR);
      assert.deepEqual(refusal(await ask(port, [])), { status: 401, challenge: 'Bearer realm="mcpd"', code: 'TOKEN_REQUIRED', message: '/v1/control needs a client token on this listener' });
      const invalid = { status: 401, challenge: 'Bearer realm="mcpd", error="invalid_token"', code: 'TOKEN_INVALID' };
      assert.deepEqual(refusal(await ask(port, [bearer(revoked)])), { ...invalid, message: 'token "gone" was revoked at 2026-01-01T00:00:00.000Z' });
      assert.deepEqual(refusal(await ask(port, [bearer(short)])), { ...invalid, message: 'token "short" expired at 2026-01-01T01:00:00.000Z' });
      assert.deepEqual(refusal(await ask(port, [bearer('mcpd_never-issued')])), { ...invalid, message: 'the token presented is not one mcpd issued (unknown token)' });
      assert.deepEqual(refusals.map((r) => r.code), ['TOKEN_REQUIRED', 'TOKEN_INVALID', 'TOKEN_INVALID', 'TOKEN_INVALID']);
    });
  });

  it('none: every request is anonymous with the entry\'s roles, a bad token too when none comes after bearer', async () => {
    await served(chainOf([{ type: 'bearer' }, { type: 'none', roles: ['reader'] }]), async ({ port }) => {
      const anonymous = { kind: 'anonymous', subject: 'anonymous', roles: ['reader'] };
      assert.deepEqual(principal(await ask(port, [])), anonymous);
      assert.equal(access.stillValid(anonymous as Principal), true, 'judged again at each request, never dropped as a revoked token is');
      assert.deepEqual(principal(await ask(port, [bearer('mcpd_never-issued')])), anonymous);
      assert.equal(principal(await ask(port, [bearer(kiosk)])).subject, 'token:kiosk', 'a good token is bearer\'s: the first that accepts wins');
    });
  });

  it('when all refuse, the answer is the first provider\'s refusal; a later provider that accepts wins', async () => {
    const untrusted = { type: 'forwarded', proxies: ['10.0.0.0/8'] };
    await served(chainOf([untrusted, { type: 'bearer' }]), async ({ port }) => {
      assert.deepEqual(refusal(await ask(port, ['X-Forwarded-User: alice'])), {
        status: 403, challenge: undefined, code: 'PROXY_UNTRUSTED',
        message: 'socket.listen[0].auth[0] (forwarded) refused a request from 127.0.0.1: it is not one of the proxies whose X-Forwarded-User header is trusted',
      });
      assert.equal(principal(await ask(port, ['X-Forwarded-User: alice', bearer(kiosk)])).subject, 'token:kiosk');
    });
    await served(chainOf([{ type: 'bearer' }, untrusted]), async ({ port }) => {
      assert.deepEqual(refusal(await ask(port, ['X-Forwarded-User: alice'])), { status: 401, challenge: 'Bearer realm="mcpd"', code: 'TOKEN_REQUIRED', message: '/v1/control needs a client token on this listener' });
    });
    await served(chainOf([{ type: 'forwarded', proxies: ['127.0.0.1'] }, { type: 'bearer' }]), async ({ port }) => {
      // The forwarded provider's 401 has no challenge of its own; bearer, later in the chain, gives its own.
      assert.deepEqual(refusal(await ask(port, [])), { status: 401, challenge: 'Bearer realm="mcpd"', code: 'USER_INVALID', message: 'socket.listen[0].auth[0] (forwarded): the proxy sent no X-Forwarded-User header' });
    });
  });

  it('the owner-only socket\'s chain: no credentials is the owner until socket.requireToken; a bad token is never the owner', async () => {
    await served(AuthChain.forOwnerSocket(access, () => config), async ({ port }) => {
      assert.deepEqual(principal(await ask(port, [])), { kind: 'owner', subject: 'owner', roles: [] });
      assert.equal(refusal(await ask(port, [bearer('mcpd_never-issued')])).code, 'TOKEN_INVALID');
      assert.equal(principal(await ask(port, [bearer(kiosk)])).subject, 'token:kiosk');
      const before = config;
      config = { ...config, socket: { ...config.socket, requireToken: true } };
      try {
        assert.deepEqual(refusal(await ask(port, [])), { status: 401, challenge: 'Bearer realm="mcpd"', code: 'TOKEN_REQUIRED', message: '/v1/control needs a client token on this listener' });
      } finally {
        config = before;
      }
    });
  });

  it('a provider may answer later (a JWKS fetch); one that fails with a bug is a 500, never skipped to the next', async () => {
    const slow = {
      type: 'slow',
      authenticate: async () => {
        await sleep(5);
        throw new McpdError('TOKEN_INVALID', 'slow refused');
      },
      challenge: () => 'Slow realm="test"',
    };
    await served(new AuthChain([slow, noneProvider({ roles: [] })]), async ({ port }) => {
      assert.equal(principal(await ask(port, [])).subject, 'anonymous');
    });
    await served(new AuthChain([slow]), async ({ port }) => {
      assert.deepEqual(refusal(await ask(port, [])), { status: 401, challenge: 'Slow realm="test"', code: 'TOKEN_INVALID', message: 'slow refused' });
    });
    const broken = { type: 'broken', authenticate: () => { throw new TypeError('a bug'); }, challenge: () => undefined };
    await served(new AuthChain([broken, noneProvider({ roles: [] })]), async ({ port }) => {
      const answer = refusal(await ask(port, []));
      assert.deepEqual([answer.status, answer.code], [500, 'INTERNAL']);
    });
  });
});
