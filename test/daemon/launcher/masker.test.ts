import assert from 'node:assert/strict';
import { once } from 'node:events';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import fc from 'fast-check';
import { createMaskingLineStream, MASK, Masker, maskedForms, MAX_LINE_LENGTH, unmaskableWarning } from '../../../daemon/launcher/masker.js';
import { fixture } from '../../helpers/repo.js';

// Quotes, backslash, slash, plus, `=`, `&`, non-ASCII: every encoding changes it.
const token = 'tok/+en=?&"quoted"\\ünï-1234567890';
const masker = new Masker([{ variable: 'TOKEN', value: token }, { variable: 'PIN', value: '1234' }]);

/** Feeds `chunks` through a masking stream and returns everything it emitted. */
async function through(m: Masker, chunks: ReadonlyArray<string | Buffer>, maxLineLength?: number): Promise<string> {
  const stream = createMaskingLineStream(m, { maxLineLength });
  const out = text(stream);
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  return out;
}

describe('masker', () => {
  it('masks the raw, JSON-escaped, URL-encoded, base64 and base64url forms, padded or not', () => {
    const bytes = Buffer.from(token);
    const b64 = bytes.toString('base64');
    const b64url = bytes.toString('base64url');
    assert.match(b64, /=$/, 'the token is chosen so that its base64 has padding');
    const forms = [token, JSON.stringify(token).slice(1, -1), encodeURIComponent(token), b64, b64.replace(/=+$/, ''), b64url, `${b64url}=`];
    for (const form of forms) assert.equal(masker.mask(`a ${form} b`), `a ${MASK} b`, `form ${form}`);
  });

  it('masks the forms other languages write: Python\'s ensure_ascii, Go\'s HTML-safe JSON, \\/, lower-case %xx, hex', () => {
    const value = 'pässwörd/<tag>&more';
    const forms = [
      'p\\u00e4ssw\\u00f6rd/<tag>&more', // Python json.dumps
      'p\\u00E4ssw\\u00F6rd/<tag>&more', // upper-case hex (Java, .NET)
      'pässwörd/\\u003ctag\\u003e\\u0026more', // Go encoding/json
      'p\\u00e4ssw\\u00f6rd\\/<tag>&more', // PHP json_encode
      encodeURIComponent(value).toLowerCase(),
      'p%C3%A4ssw%C3%B6rd%2F%3Ctag%3E%26more'.toLowerCase(),
      Buffer.from(value).toString('hex'),
      Buffer.from(value).toString('hex').toUpperCase(),
    ];
    const m = new Masker([{ variable: 'TOKEN', value }]);
    for (const form of forms) assert.equal(m.mask(`a ${form} b`), `a ${MASK} b`, `form ${form}`);
  });

  it('property: every encoding of a value of 6+ characters, inside any text, is masked', () => {
    const encoders: Record<string, (v: string) => string> = {
      raw: (v) => v,
      json: (v) => JSON.stringify(v).slice(1, -1),
      ensureAscii: (v) => JSON.stringify(v).slice(1, -1).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
      goHtml: (v) => JSON.stringify(v).slice(1, -1).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
      slashes: (v) => JSON.stringify(v).slice(1, -1).replaceAll('/', '\\/'),
      percent: encodeURIComponent,
      percentLower: (v) => encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
      hex: (v) => Buffer.from(v).toString('hex'),
      hexUpper: (v) => Buffer.from(v).toString('hex').toUpperCase(),
      base64: (v) => Buffer.from(v).toString('base64'),
      base64url: (v) => Buffer.from(v).toString('base64url'),
    };
    // A value holding the mask itself could be rebuilt around a mask: left out.
    const value = fc.string({ unit: 'binary', minLength: 6, maxLength: 40 }).filter((v) => !v.includes('*') && !/[\r\n]/.test(v));
    fc.assert(fc.property(value, fc.string(), fc.string(), fc.constantFrom(...Object.keys(encoders)), (v, before, after, name) => {
      const form = encoders[name]!(v);
      const out = new Masker([{ variable: 'TOKEN', value: v }]).mask(`${before}${form}${after}`);
      assert.ok(!out.includes(form), `${name} form left in ${JSON.stringify(out)}`);
      assert.ok(out.includes(MASK));
    }), { numRuns: 500 });
  });

  it('masks what Python itself writes: json.dumps, urllib quote, hex, base64', async (t) => {
    const values = ['café-crème/<x>&y', 'plain-token-123', 'naïve 🙂 sëcret', 'a/b+c=d?e'];
    const script = 'import json,sys,urllib.parse,base64\nfor v in json.load(sys.stdin):\n  b=v.encode()\n  print(json.dumps([json.dumps(v)[1:-1], urllib.parse.quote(v, safe=""), urllib.parse.quote_plus(v), b.hex(), base64.b64encode(b).decode(), base64.urlsafe_b64encode(b).decode()]))';
    const python = await execa('python3', ['-c', script], { input: JSON.stringify(values), reject: false });
    if (python.failed) {
      t.skip(`python3 cannot run here (${python.code ?? python.exitCode}): the property test above covers these encodings`);
      return;
    }
    const lines = python.stdout.trim().split('\n').map((line) => JSON.parse(line) as string[]);
    values.forEach((value, i) => {
      const m = new Masker([{ variable: 'TOKEN', value }]);
      for (const form of lines[i]!) assert.equal(m.mask(`<${form}>`), `<${MASK}>`, `${value}: ${form}`);
    });
  });

  it('masks the value base64-encoded inside a longer blob, such as an HTTP Basic header', () => {
    for (const user of ['u', 'us', 'use']) {
      const header = Buffer.from(`${user}:${token}`).toString('base64');
      const masked = masker.mask(`Authorization: Basic ${header}`);
      // What is left of the blob: the user part and the few characters that mix in neighbouring bits.
      assert.match(masked, /^Authorization: Basic [A-Za-z0-9+/]{2,6}\*\*\*\*[A-Za-z0-9+/]{0,2}=*$/, `offset ${user.length + 1}: ${masked}`);
    }
  });

  it('masks overlapping values and repeated ones so that no tail of either survives', () => {
    const m = new Masker([{ variable: 'A', value: 'abcdefgh' }, { variable: 'B', value: 'efghijkl' }]);
    assert.equal(m.mask('x abcdefghijkl y abcdefghabcdefgh'), `x ${MASK} y ${MASK}${MASK}`);
  });

  it('does not mask values under 6 characters, and names their variables, never the values', () => {
    assert.equal(masker.mask('pin 1234'), 'pin 1234');
    assert.deepEqual(masker.unmaskable, ['PIN']);
    assert.equal(unmaskableWarning('PIN'), 'the value of PIN is under 6 characters and cannot be masked in logs');
    assert.deepEqual(maskedForms('12345'), []);
  });

  it('masks each line of a multi-line value, since stderr is masked a line at a time', () => {
    const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----';
    const m = new Masker([{ variable: 'KEY', value: pem }]);
    assert.equal(m.mask('line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'), `line: ${MASK}`);
  });

  it('catches a value split across chunks, even one byte at a time through multi-byte characters', async () => {
    const input = `before ${token} after\nnext ${encodeURIComponent(token)}\n`;
    const oneByteChunks = [...Buffer.from(input)].map((byte) => Buffer.from([byte]));
    assert.equal(await through(masker, oneByteChunks), `before ${MASK} after\nnext ${MASK}\n`);
  });

  it('emits each line as soon as its newline arrives, before the stream ends', async () => {
    const stream = createMaskingLineStream(masker);
    stream.write(`one ${token}\ntwo ${token.slice(0, 5)}`);
    const [first] = (await once(stream, 'data')) as [Buffer];
    assert.equal(first.toString(), `one ${MASK}\n`);
    const rest = text(stream);
    stream.end(`${token.slice(5)}`);
    assert.equal(await rest, `two ${MASK}`, 'the trailing partial line is flushed, masked, at the end');
  });

  it('sends on an endless line in masked pieces without letting a value through a cut', async () => {
    for (let shift = 0; shift < 40; shift += 3) {
      const long = 'x'.repeat(MAX_LINE_LENGTH - 20 + shift) + token + 'y'.repeat(100);
      const stream = createMaskingLineStream(masker);
      const pieces: string[] = [];
      stream.on('data', (chunk: Buffer) => pieces.push(chunk.toString()));
      stream.write(long.slice(0, 40_000));
      stream.write(long.slice(40_000));
      assert.ok(pieces.length > 0, 'a piece went out before any newline');
      stream.end('\n');
      await once(stream, 'end');
      const out = pieces.join('');
      assert.equal(out, `${long.replace(token, MASK)}\n`, `shift ${shift}`);
      assert.ok(pieces.every((piece) => !piece.includes(token.slice(0, 6)) && !piece.includes(token.slice(-6))), `shift ${shift}: no part of the value at a cut`);
    }
  });

  it('holds back no more than the line limit, whatever the chunking', async () => {
    const out = await through(masker, ['a'.repeat(100), token, 'b'.repeat(100), '\n'], 64);
    assert.equal(out, `${'a'.repeat(100)}${MASK}${'b'.repeat(100)}\n`);
  });

  it('masks lines of a real process while it is still running', async () => {
    const secret = 'live-token-7c1d9e2f';
    const child = execa(process.execPath, [fixture('echo-token-to-stderr.js')], { env: { TOKEN: secret }, extendEnv: false, stdin: 'pipe', buffer: false, reject: false });
    const stream = createMaskingLineStream(new Masker([{ variable: 'TOKEN', value: secret }]));
    child.stderr.pipe(stream);
    let seen = '';
    await new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('still running\n')) resolve();
      });
    });
    assert.equal(child.exitCode, null, 'the server has not exited: lines are not held until exit');
    assert.match(seen, /^raw: \*\*\*\*$/m);
    assert.match(seen, /^split: \*\*\*\*$/m);
    assert.ok(!seen.includes(secret));
    child.stdin.end();
    assert.equal((await child).exitCode, 0);
  });
});
