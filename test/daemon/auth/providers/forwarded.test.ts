/**
 * The `forwarded` provider over real TCP from 127.0.0.1 (and ::1, and a dual-stack socket that
 * sees ::ffff:127.0.0.1), behind the daemon's socket server: trusted only from its proxies,
 * a proxy's request without a sound user refused, groups and roles exactly as the proxy sent
 * them, judged on the bytes Node's HTTP parser delivered (a property test on raw header text).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ClientAccess } from '../../../../daemon/auth/access.js';
import { AuthChain } from '../../../../daemon/auth/providers/chain.js';
import { TokenStore } from '../../../../daemon/auth/store.js';
import { type Config, configSchema } from '../../../../daemon/config/schema.js';
import { type Answer, ask, serveChain } from '../../../helpers/auth-chain.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

const config: Config = configSchema.parse({ roles: { reader: {}, ops: {} } });
let access: ClientAccess;

function chainOf(entries: readonly object[]): AuthChain {
  return AuthChain.forListener(configSchema.parse({ socket: { listen: [{ port: 0, auth: entries }] } }).socket.listen[0]!.auth, 0, access, () => config);
}

const forwarded = (proxies: string[], extra: object = {}) => ({ type: 'forwarded', proxies, ...extra });

/** The principal of an accepted answer (fails on a refusal, showing it). */
function principalOf(answer: Answer) {
  assert.equal(answer.status, 101, JSON.stringify(answer));
  return (answer as Extract<Answer, { status: 101 }>).principal;
}

function refusalOf(answer: Answer) {
  assert.notEqual(answer.status, 101, JSON.stringify(answer));
  return answer as Exclude<Answer, { status: 101 }>;
}

describe('the forwarded provider', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpd-forwarded-'));
    access = new ClientAccess(await TokenStore.open(join(dir, 'tokens.json')), () => config, new ManualClock(0), { by: () => ({ record: () => {} }) });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('from an address not in proxies: 403 naming the peer, even with the headers, and counted as a refusal', async () => {
    const server = await serveChain(chainOf([forwarded(['10.0.0.0/8', '::1', '127.0.0.2'])]));
    try {
      for (const headers of [['X-Forwarded-User: alice', 'X-Forwarded-Groups: ops'], []]) {
        const answer = refusalOf(await ask(server.port, headers));
        assert.equal(answer.status, 403);
        assert.deepEqual(answer.error, {
          code: 'PROXY_UNTRUSTED',
          message: 'socket.listen[0].auth[0] (forwarded) refused a request from 127.0.0.1: it is not one of the proxies whose X-Forwarded-User header is trusted',
          hint: 'connect through the reverse proxy, or add its address to socket.listen[0].auth[0].proxies',
        });
        assert.equal(answer.challenge, undefined);
      }
      assert.deepEqual(server.refusals.map((r) => [r.peer, r.status, r.code]), [['127.0.0.1', 403, 'PROXY_UNTRUSTED'], ['127.0.0.1', 403, 'PROXY_UNTRUSTED']]);
    } finally {
      await server.close();
    }
  });

  it('from a proxy (an address or a range): the user, the groups, and roles from groupRoles or a role of the group\'s name', async () => {
    for (const proxies of [['127.0.0.1'], ['10.0.0.0/8', '127.0.0.0/8']]) {
      const server = await serveChain(chainOf([forwarded(proxies, { groupRoles: { eng: ['reader'], ops: [] } })]));
      try {
        const principal = principalOf(await ask(server.port, ['X-Forwarded-User: alice@example.com', 'X-Forwarded-Groups: eng, ,reader,constructor', 'X-Forwarded-Groups: ops,toString']));
        // ops maps to no role by its groupRoles entry, though a role of that name exists; constructor and toString are no roles.
        assert.deepEqual(principal, { kind: 'forwarded', subject: 'user:alice@example.com', user: 'alice@example.com', groups: ['eng', 'reader', 'constructor', 'ops', 'toString'], roles: ['reader'] });
        assert.equal(access.stillValid(principal), true, 'judged again at each request, never dropped as a revoked token is');
      } finally {
        await server.close();
      }
    }
  });

  it('a dual-stack listener sees ::ffff:127.0.0.1 and judges it as 127.0.0.1; ::1 is matched as IPv6', async () => {
    const mapped = await serveChain(chainOf([forwarded(['127.0.0.1'])]), '::');
    try {
      assert.equal(principalOf(await ask(mapped.port, ['X-Forwarded-User: bob'], '127.0.0.1')).subject, 'user:bob');
      const fromV6 = refusalOf(await ask(mapped.port, ['X-Forwarded-User: bob'], '::1'));
      assert.match(fromV6.error.message, /refused a request from ::1: it is not one of the proxies/);
    } finally {
      await mapped.close();
    }
    const elsewhere = await serveChain(chainOf([forwarded(['10.0.0.1'])]), '::');
    try {
      const refused = refusalOf(await ask(elsewhere.port, ['X-Forwarded-User: bob'], '127.0.0.1'));
      assert.match(refused.error.message, /refused a request from 127\.0\.0\.1: /, 'named as the config writes it, not ::ffff:127.0.0.1');
    } finally {
      await elsewhere.close();
    }
    const v6 = await serveChain(chainOf([forwarded(['::1'])]), '::1');
    try {
      assert.equal(principalOf(await ask(v6.port, ['X-Forwarded-User: carol'], '::1')).subject, 'user:carol');
    } finally {
      await v6.close();
    }
  });

  it('a proxy\'s request with no user, two, one with control characters or over 256 bytes: 401 saying which', async () => {
    const server = await serveChain(chainOf([forwarded(['127.0.0.1'])]));
    const hint = 'have the reverse proxy sign the user in and set exactly one X-Forwarded-User header with the user name';
    try {
      for (const [headers, what] of [
        [[], 'no X-Forwarded-User header'],
        [['X-Forwarded-User:  '], 'no X-Forwarded-User header'],
        [['X-Forwarded-User: alice', 'X-Forwarded-User: admin'], '2 X-Forwarded-User headers, where one user is expected'],
        [['X-Forwarded-User: ali\tce'], 'control characters in its X-Forwarded-User header'],
        [['X-Forwarded-User: alice\x85'], 'control characters in its X-Forwarded-User header'],
        [[`X-Forwarded-User: ${'a'.repeat(257)}`], 'a user name of 257 bytes in its X-Forwarded-User header (at most 256)'],
      ] as Array<[string[], string]>) {
        const answer = refusalOf(await ask(server.port, headers));
        assert.equal(answer.status, 401, what);
        assert.deepEqual(answer.error, { code: 'USER_INVALID', message: `socket.listen[0].auth[0] (forwarded): the proxy sent ${what}`, hint });
      }
      assert.equal(principalOf(await ask(server.port, [`X-Forwarded-User: ${'a'.repeat(256)}`])).subject, `user:${'a'.repeat(256)}`);
      // Latin-1 bytes that are not controls are part of the name, as Node delivered them.
      assert.equal(principalOf(await ask(server.port, ['X-Forwarded-User: jos\xe9'])).subject, 'user:jos\xe9');
    } finally {
      await server.close();
    }
  });

  it('userHeader and groupsHeader name the headers read; the default names are then ignored', async () => {
    const server = await serveChain(chainOf([forwarded(['127.0.0.1'], { userHeader: 'X-Remote-User', groupsHeader: 'X-Remote-Groups' })]));
    try {
      const principal = principalOf(await ask(server.port, ['X-Forwarded-User: mallory', 'X-Forwarded-Groups: ops', 'x-remote-user: dave', 'X-Remote-Groups: reader']));
      assert.deepEqual(principal, { kind: 'forwarded', subject: 'user:dave', user: 'dave', groups: ['reader'], roles: ['reader'] });
      const none = refusalOf(await ask(server.port, ['X-Forwarded-User: mallory']));
      assert.equal(none.error.message, 'socket.listen[0].auth[0] (forwarded): the proxy sent no X-Remote-User header');
    } finally {
      await server.close();
    }
  });

  it('property: the groups are exactly the comma-separated, space-and-tab-trimmed, non-empty items of every header line sent', async () => {
    const server = await serveChain(chainOf([forwarded(['127.0.0.1'])]));
    // What a field value may hold on the wire: tab, space, visible ASCII and obs-text (bytes 0x80-0xFF, Latin-1 to Node).
    const byte = fc.oneof(
      fc.constantFrom(',', ' ', '\t', ', ', ' ,'),
      fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    );
    const lines = fc.array(fc.string({ unit: byte, maxLength: 40 }), { minLength: 1, maxLength: 3 });
    const ows = (text: string) => text.replace(/^[ \t]+|[ \t]+$/g, '');
    try {
      await fc.assert(fc.asyncProperty(lines, async (values) => {
        const principal = principalOf(await ask(server.port, ['X-Forwarded-User: p', ...values.map((v) => `X-Forwarded-Groups: ${v}`)]));
        const expected = values.flatMap((v) => v.split(',')).map(ows).filter((g) => g !== '');
        assert.deepEqual(principal.kind === 'forwarded' ? principal.groups : undefined, expected);
      }), { numRuns: 150 });
    } finally {
      await server.close();
    }
  });
});
