/**
 * The envelope scan against JSON.parse: for every message it answers, its answer must be what
 * parsing would give; where it cannot be sure it must say so (undefined), never guess.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Envelope, envelopeOf, idKey, isRequest, readEnvelope, readHead } from '../../../daemon/session/envelope.js';

const scan = (text: string) => readEnvelope(Buffer.from(text));
const head = (text: string) => readHead(Buffer.from(text));

/** What JSON.parse says the envelope is. */
function parsed(text: string): Envelope {
  const message = JSON.parse(text) as { id?: string | number | null; method?: string; result?: { isError?: unknown } };
  const response = 'result' in message || 'error' in message;
  const outcome = 'error' in message ? 'error' : message.result?.isError === true ? 'tool-error' : 'ok';
  return { id: message.id, method: message.method, response, ...(response ? { outcome } : {}) };
}

const agrees = (text: string) => assert.deepEqual(scan(text), parsed(text), text);

describe('envelope scan: whole messages', () => {
  it('reads numeric and string ids, methods, and whether it is a response', () => {
    agrees('{"jsonrpc":"2.0","id":1,"method":"ping"}');
    agrees('{"jsonrpc":"2.0","id":"abc","result":{}}');
    agrees('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    agrees('{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"no"}}');
    agrees('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}');
    agrees('{}');
    agrees('{"id":-0}');
    agrees('{"id":12.5e3}');
    agrees('{"id":1E-2}');
  });

  it('decodes string ids and methods with escapes, quotes included', () => {
    agrees(String.raw`{"id":"a\"b","method":"x"}`);
    agrees(String.raw`{"id":"a\\","method":"x\\"}`);
    agrees(String.raw`{"id":"\\\"","result":1}`);
    agrees(String.raw`{"id":"\u00e9\n","method":"tools\/call"}`);
    agrees(String.raw`{"\u0069d":5,"\u006dethod":"ping"}`);
    agrees('{"id":"é☃😀","method":"ping"}');
  });

  it('takes only top-level keys: an "id" or "method" in params, nested, or in a string does not count', () => {
    agrees('{"jsonrpc":"2.0","params":{"id":99,"method":"fake","nested":{"id":[{"id":1}]}},"id":3,"method":"tools/call"}');
    agrees('{"params":["\\"id\\":4,",{"x":"}"}],"id":5,"result":{"id":6}}');
    agrees('{"result":{"content":[{"type":"text","text":"{\\"id\\":2}"}]},"id":8}');
    agrees('{"method":"notifications/message","params":{"data":"\\"id\\":1"}}');
  });

  it('allows whitespace wherever JSON does', () => {
    agrees(' \t{ "id" : 1 ,\r\n "method" :"ping" , "params" : { "a" : [ 1 , 2 ] } } \r\n');
    agrees('{\n  "jsonrpc": "2.0",\n  "id": "x",\n  "result": {}\n}');
  });

  it('skips values of every kind', () => {
    agrees('{"a":true,"b":false,"c":null,"d":-1.5e10,"e":[],"f":{},"g":"","h":[[[]]],"id":2,"method":"m"}');
  });

  it('is not sure of what it cannot read, and says so', () => {
    for (const text of [
      '42', '"id"', '[{"id":1}]', 'null', '', '   ',
      '{"jsonrpc":', '{"id":1', '{"id":1,', '{"id":"abc', '{"id":1,"result":{"a":[1,2}', // cut short
      '{"id":{"x":1},"result":1}', '{"id":[1],"result":1}', '{"id":true,"result":1}', // ids JSON-RPC does not allow
      '{"id":01,"result":1}', '{"id":1.,"result":1}', '{"id":+1,"result":1}', // not JSON numbers
      '{"method":5}', '{id:1}', '{"id":1}}', '{"id":1} x', '{"id" 1}', '{"id":1 "m":2}', // not JSON
    ]) {
      assert.equal(scan(text), undefined, text);
    }
  });

  it('reads a response\'s outcome: an error, a result whose own isError is true, or a result', () => {
    agrees('{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}');
    agrees('{"result":{"isError":true,"content":[{"type":"text","text":"x"}]},"jsonrpc":"2.0","id":1}');
    agrees('{"id":1,"result":{ "content" : [] , "isError" : true }}');
    agrees('{"id":1,"result":{"isError":false}}');
    agrees('{"id":1,"result":{"isError":"true"}}');
    agrees('{"id":1,"result":{"isError":true,"isError":false}}');
    agrees('{"id":1,"result":{"isError":false,"isError":true}}');
    agrees(String.raw`{"id":1,"result":{"is\u0045rror":true}}`);
    agrees('{"id":1,"result":{"content":[{"isError":true}],"structuredContent":{"isError":true}}}');
    agrees(String.raw`{"id":1,"result":{"content":[{"type":"text","text":"\"isError\":true"}]}}`);
    agrees('{"id":1,"result":[true]}');
    agrees('{"id":1,"result":null}');
    agrees('{"id":1,"error":{"code":-32000,"message":"x","data":{"isError":false}}}');
    agrees('{"jsonrpc":"2.0","method":"notifications/message","params":{"isError":true}}');
    assert.equal(scan('{"id":1,"result":{"isError":true'), undefined, 'cut short');
    assert.equal(scan('{"id":1,"result":{"isError" true}}'), undefined, 'not JSON');
  });

  it('reads the first of duplicate top-level keys', () => {
    assert.deepEqual(scan('{"id":1,"id":2,"result":{}}'), { id: 1, method: undefined, response: true, outcome: 'ok' });
  });

  it('envelopeOf parses what the scan is not sure of', () => {
    assert.deepEqual(envelopeOf(Buffer.from('{"id":{"x":1},"method":"m"}')), { id: undefined, method: 'm', response: false });
    assert.deepEqual(envelopeOf(Buffer.from('{"id":01}')), undefined, 'not JSON');
    assert.deepEqual(envelopeOf(Buffer.from('[1]')), undefined, 'not an object');
    assert.deepEqual(envelopeOf(Buffer.from('{"id":1,"result":2}')), { id: 1, method: undefined, response: true, outcome: 'ok' });
    assert.deepEqual(envelopeOf(Buffer.from('{"id":{"x":1},"result":{"isError":true}}')), { id: undefined, method: undefined, response: true, outcome: 'tool-error' });
  });

  it('tells requests from notifications and keys ids by type', () => {
    assert.equal(isRequest(scan('{"id":1,"method":"ping"}')!), true);
    assert.equal(isRequest(scan('{"method":"ping"}')!), false);
    assert.equal(isRequest(scan('{"id":null,"method":"ping"}')!), false);
    assert.notEqual(idKey(1), idKey('1'));
  });
});

describe('envelope scan: the head of a message still arriving', () => {
  const big = `{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"${'x'.repeat(5000)}"}]}}`;

  it('decides a response from its id and the start of its result', () => {
    assert.deepEqual(head(big.slice(0, 100)), { id: 42, method: undefined, response: true });
    assert.deepEqual(head('{"id":"a\\"b","error":{"code":1'), { id: 'a"b', method: undefined, response: true });
  });

  it('decides a message with a method from the method alone', () => {
    assert.deepEqual(head('{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"xxx'), { id: undefined, method: 'notifications/message', response: false });
    assert.deepEqual(head('{"method":"sampling/createMessage","params":{'), { id: undefined, method: 'sampling/createMessage', response: false });
  });

  it('waits while the id may still come after the result', () => {
    assert.equal(head('{"jsonrpc":"2.0","result":{"content":[{"text":"xxxx'), undefined);
    assert.equal(head('{"jsonrpc":"2.0","params":{"id":1,"method":"x"},"ex'), undefined, 'keys in params are not the envelope');
    assert.equal(head('{"jsonrpc":"2.0","id":4'), undefined, 'the id itself may go on (42…)');
  });

  it('decides the same at every cut of a message, or not at all', () => {
    const messages = [
      big,
      '{"jsonrpc":"2.0","params":{"id":9,"x":"\\"}"},"id":"q\\"uote","result":{"a":[1,{"b":"}"}]}}',
      '{ "id" : 3 , "method" : "tools/call" , "params" : { "arguments" : { "s" : "{\\"id\\":1}" } } }',
      '{"result":{"z":1},"id":5}',
    ];
    for (const text of messages) {
      const whole = scan(text)!;
      assert.deepEqual(whole, parsed(text));
      for (let cut = 0; cut <= text.length; cut++) {
        const verdict = head(text.slice(0, cut));
        // A head never has the outcome: that needs the whole result.
        if (verdict) assert.deepEqual({ ...verdict, response: whole.response || verdict.response, ...(whole.outcome ? { outcome: whole.outcome } : {}) }, whole, `${text.slice(0, 40)}… cut at ${cut}`);
      }
    }
  });
});

describe('envelope scan: long strings', () => {
  it('finds the end of strings longer than the byte-by-byte stretch, with escapes on every side of it', () => {
    for (let pad = 55; pad <= 70; pad++) {
      for (const escape of ['\\"', '\\\\', '\\\\\\"', '\\n']) {
        const id = `${'a'.repeat(pad)}${escape}${'b'.repeat(pad % 5)}`;
        agrees(`{"id":"${id}","params":{"s":"${'c'.repeat(pad)}${escape}"},"method":"m"}`);
      }
    }
  });
});
