/**
 * Opening the browser: real commands ($BROWSER, a stand-in xdg-open on PATH) that record the
 * argv and environment they were given (test/fixtures/browser-record.js), started with no shell,
 * none of our stdio and none of mcpd's own credentials.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { browserCommands, openBrowser } from '../../cli/browser.js';
import { OWN_CREDENTIALS } from '../../core/own-credentials.js';
import { fixture, repoRoot } from '../helpers/repo.js';

const BROWSER = fixture('browser-record.js');

describe('openBrowser', () => {
  let dir: string;
  let record: string;
  let n = 0;
  const base = () => ({ PATH: dirname(process.execPath), HOME: dir, MCPD_TEST_BROWSER_RECORD: record });
  /** What the stand-in browser was given, one entry per start. */
  const starts = async () => (await readFile(record, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { argv: string[]; env: Record<string, string> });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpd-browser-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const fresh = () => { record = join(dir, `record-${++n}`); };

  it('gives $BROWSER the URL as one argument, intact: no shell reads it', async () => {
    fresh();
    const pwned = join(dir, 'pwned');
    // What a shell would run: each of these, spaces being ${IFS} (the URL parser encodes a space).
    const touch = `touch\${IFS}${pwned}`;
    const url = `https://as.example/authorize?client_id=a b&state=x;${touch};y&redirect_uri=http%3A%2F%2F127.0.0.1%3A8085%2Fcallback&q=$(${touch})&r=\`${touch}\`|${touch}`;
    assert.equal(await openBrowser(url, { ...base(), BROWSER }), true);
    const [start] = await starts();
    assert.deepEqual(start?.argv, [new URL(url).href]);
    assert.ok(start!.argv[0]!.includes(`&q=$(${touch})&r=\`${touch}\`|${touch}`), start!.argv[0]);
    await assert.rejects(stat(pwned), { code: 'ENOENT' });
  });

  it('reads $BROWSER as xdg-open does: a list of commands split on spaces, %s for the URL, the first that works', async () => {
    fresh();
    const url = 'https://as.example/authorize?x=1';
    assert.equal(await openBrowser(url, { ...base(), BROWSER: `${BROWSER} --new-window --url=%s` }), true);
    assert.equal(await openBrowser(url, { ...base(), BROWSER: ` ${BROWSER}   --private ` }), true);
    // Not installed, then one that fails at once: the next is tried.
    const failing = { ...base(), BROWSER: `${join(dir, 'no-such-browser')}:${BROWSER} --failing:${BROWSER} --works`, MCPD_TEST_BROWSER_EXIT: '3' };
    assert.equal(await openBrowser(url, failing, { settleMs: 5000 }), false, 'every entry exited 3');
    assert.deepEqual((await starts()).map((s) => s.argv), [['--new-window', `--url=${url}`], ['--private', url], ['--failing', url], ['--works', url]]);
  });

  it('keeps mcpd\'s own credentials from the browser, and the rest of the environment for it', async () => {
    fresh();
    const own = Object.fromEntries(OWN_CREDENTIALS.map((name) => [name, `own-credential-${name}-value`]));
    assert.equal(await openBrowser('https://as.example/a', { ...base(), ...own, BROWSER, KEEP_ME: 'kept' }), true);
    const [start] = await starts();
    assert.equal(start?.env.KEEP_ME, 'kept');
    for (const name of OWN_CREDENTIALS) assert.equal(start?.env[name], undefined, name);
    const seen = await readFile(record, 'utf8');
    for (const value of Object.values(own)) assert.ok(!seen.includes(value), 'the value reached the browser');
  });

  it('opens nothing but http(s) URLs', async () => {
    fresh();
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', '-h', 'not a url', 'ftp://as.example/']) {
      assert.equal(await openBrowser(url, { ...base(), BROWSER }), false, url);
    }
    assert.deepEqual(await starts(), []);
  });

  it('without $BROWSER: xdg-open with a display, false without one or when it finds no browser', async () => {
    fresh();
    const bin = join(dir, 'bin');
    await execa('mkdir', ['-p', bin]);
    await copyFile(BROWSER, join(bin, 'xdg-open'));
    const url = 'https://as.example/authorize';
    const env = { ...base(), PATH: `${bin}:${dirname(process.execPath)}` };
    assert.equal(await openBrowser(url, env, { platform: 'linux' }), false, 'no $DISPLAY: SSH or a console');
    assert.deepEqual(await starts(), [], 'xdg-open was not even tried');
    assert.equal(await openBrowser(url, { ...env, DISPLAY: ':0' }, { platform: 'linux' }), true);
    assert.equal(await openBrowser(url, { ...env, WAYLAND_DISPLAY: 'wayland-0', MCPD_TEST_BROWSER_EXIT: '3' }, { platform: 'linux' }), false, 'xdg-open exits 3: no browser');
    assert.deepEqual((await starts()).map((s) => s.argv), [[url], [url]]);
    // An empty folder as PATH: the machine's own xdg-open (xdg-utils comes with a browser) must not be found.
    const empty = join(dir, 'empty');
    await execa('mkdir', ['-p', empty]);
    assert.equal(await openBrowser(url, { ...base(), PATH: empty, DISPLAY: ':0' }, { platform: 'linux' }), false, 'no xdg-open on PATH');
  });

  it('uses open on macOS and rundll32 (not cmd, which would parse the URL) on Windows', () => {
    const href = 'https://as.example/a?b=1&c=%PATH%';
    assert.deepEqual(browserCommands(href, {}, 'darwin'), [['open', href]]);
    assert.deepEqual(browserCommands(href, {}, 'win32'), [['rundll32', 'url.dll,FileProtocolHandler', href]]);
    assert.deepEqual(browserCommands(href, { BROWSER: 'C:\\b\\firefox.exe -new-tab;chrome' }, 'win32'), [['C:\\b\\firefox.exe', '-new-tab', href], ['chrome', href]]);
  });

  it('holds none of our stdio: nothing on stdout, and we exit while the browser stays open', async () => {
    fresh();
    const script = `import { openBrowser } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'cli', 'browser.js')).href)};
      process.stderr.write(String(await openBrowser(process.argv[1], process.env, { settleMs: 200 })));`;
    const started = Date.now();
    const host = await execa(process.execPath, ['--input-type=module', '-e', script, 'https://as.example/authorize'], {
      env: { ...base(), BROWSER, MCPD_TEST_BROWSER_LINGER: '8000' }, extendEnv: false, timeout: 20_000,
    });
    assert.equal(host.stdout, '', 'the browser wrote to our stdout');
    assert.equal(host.stderr, 'true');
    assert.ok(Date.now() - started < 6000, 'the host waited for the browser to end: it held our stdout');
    assert.equal((await starts()).length, 1);
  });
});
